// Settings that decide where the user's Azure token goes (the cloud, a custom ARM endpoint) and
// which certificate authorities the server trusts. They are read from user (and remote machine)
// settings only: a workspace's .vscode/settings.json is written by whoever wrote the repository,
// so its values are ignored, in trusted and Restricted Mode alike (package.json also declares them
// "machine" scoped and restricted; this does not rely on that alone).
import { promises as fs } from 'node:fs';
import type * as vscode from 'vscode';

export const TRUSTED_ONLY = ['cloud', 'armEndpoint', 'caBundle'] as const;
export type TrustedSetting = (typeof TRUSTED_ONLY)[number];

type Inspected = ReturnType<vscode.WorkspaceConfiguration['inspect']>;

/** The user's (or the remote machine's) value, else the default; never a workspace's. */
export function trustedValue(config: Pick<vscode.WorkspaceConfiguration, 'inspect'>, key: TrustedSetting): string | undefined {
  const inspected: Inspected = config.inspect<string>(key);
  const value = inspected?.globalValue ?? inspected?.defaultValue;
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/**
 * The `aitk.inference` section as the server gets it (workspace/configuration answers): every
 * other key as VS Code resolved it, the trusted keys from user scope only ('' when unset).
 */
export function withTrustedValues(section: unknown, config: Pick<vscode.WorkspaceConfiguration, 'inspect'>): unknown {
  if (typeof section !== 'object' || section === null || Array.isArray(section)) return section;
  const out: Record<string, unknown> = { ...(section as Record<string, unknown>) };
  for (const key of TRUSTED_ONLY) out[key] = trustedValue(config, key) ?? '';
  return out;
}

/** The `aitk.inference.*` keys of TRUSTED_ONLY that a workspace or folder sets (and that are ignored). */
export function workspaceOverrides(config: Pick<vscode.WorkspaceConfiguration, 'inspect'>): string[] {
  return TRUSTED_ONLY.filter((key) => {
    const inspected: Inspected = config.inspect<string>(key);
    return [inspected?.workspaceValue, inspected?.workspaceFolderValue, inspected?.workspaceLanguageValue, inspected?.workspaceFolderLanguageValue].some((v) => v !== undefined);
  }).map((key) => `aitk.inference.${key}`);
}

/** TRUSTED_ONLY keys written in workspace settings files (`.vscode/settings.json`, a
 * `.code-workspace` file). VS Code drops machine-scoped values from workspace settings before
 * `inspect()` sees them, so the notice reads the files themselves; nothing is taken from them. */
export async function keysInSettingsFiles(files: string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const file of files) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue; // no such file: nothing set there
    }
    for (const key of TRUSTED_ONLY) if (new RegExp(`"aitk\\.inference\\.${key}"\\s*:`).test(text)) found.add(`aitk.inference.${key}`);
  }
  return TRUSTED_ONLY.map((k) => `aitk.inference.${k}`).filter((k) => found.has(k));
}

export function ignoredMessage(keys: string[]): string {
  return `Ignored ${keys.join(', ')} from the workspace settings: where the Azure token goes and which certificate authorities are trusted are taken from your user settings only.`;
}
