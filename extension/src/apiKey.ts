// The endpoint's API key in VS Code. The server reads it (aitk.inference.server.api-key, which uses
// Container Apps' listSecrets); the extension keeps it in SecretStorage, one entry per
// subscription/resource group/app, and copies it on request. It never goes to the output channel:
// see redact.ts for the trace, and server/README.md "The API key" for the whole hand-over.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { rememberSecret } from './redact';

export interface AppId {
  subscriptionId: string;
  resourceGroup: string;
  appName: string;
}

export interface ApiKeyResult extends AppId {
  apiKey: string;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value : undefined;
}

/** The api-key command's result, or undefined when it is not one. */
export function parseApiKeyResult(result: unknown): ApiKeyResult | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
  const [apiKey, subscriptionId, resourceGroup, appName] = [r.apiKey, r.subscriptionId, r.resourceGroup, r.appName].map(text);
  if (!apiKey || !subscriptionId || !resourceGroup || !appName) return undefined;
  return { apiKey, subscriptionId, resourceGroup, appName };
}

/** The app infra/inference.config.json names, or undefined (no file, not filled in). */
export async function configuredApp(folder: string): Promise<AppId | undefined> {
  try {
    const config = JSON.parse(await fs.readFile(path.join(folder, 'infra', 'inference.config.json'), 'utf8')) as Record<string, unknown>;
    const [subscriptionId, resourceGroup, appName] = [config.SUBSCRIPTION_ID, config.RESOURCE_GROUP_NAME, config.ACA_APP_NAME].map(text);
    return subscriptionId && resourceGroup && appName ? { subscriptionId, resourceGroup, appName } : undefined;
  } catch {
    return undefined;
  }
}

export class ApiKeyStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  static key(app: AppId): string {
    // Azure names are case-insensitive: one entry per app whatever the casing in the config.
    return `aitk.inference.apiKey/${app.subscriptionId}/${app.resourceGroup}/${app.appName}`.toLowerCase();
  }

  async get(app: AppId): Promise<string | undefined> {
    const value = await this.secrets.get(ApiKeyStore.key(app));
    rememberSecret(value);
    return value;
  }

  async store(result: ApiKeyResult): Promise<void> {
    rememberSecret(result.apiKey);
    await this.secrets.store(ApiKeyStore.key(result), result.apiKey);
  }
}

export interface CopyDeps {
  /** Runs the server's api-key command for the folder; its result, or undefined when it failed (already shown). */
  fetch(): Promise<unknown>;
  store: ApiKeyStore;
  folder: string;
  copy(text: string): Thenable<void>;
  info(message: string): void;
  error(message: string): void;
}

/**
 * Reads the current key through the server, stores it and copies it. When it cannot be read (offline,
 * not signed in), the key stored for the configured app is copied instead, saying so.
 */
export async function copyApiKey(deps: CopyDeps): Promise<boolean> {
  let fetched: unknown;
  try {
    fetched = await deps.fetch();
  } catch {
    fetched = undefined;
  }
  const result = parseApiKeyResult(fetched);
  if (result) {
    await deps.store.store(result);
    await deps.copy(result.apiKey);
    deps.info(`AI Toolkit: the API key of ${result.appName} is on the clipboard.`);
    return true;
  }
  const app = await configuredApp(deps.folder);
  const stored = app ? await deps.store.get(app) : undefined;
  if (app && stored) {
    await deps.copy(stored);
    deps.info(`AI Toolkit: could not read the current API key of ${app.appName}; copied the one stored in VS Code (it may be out of date if the key was rotated).`);
    return true;
  }
  deps.error('AI Toolkit: could not read the API key, and none is stored in VS Code for this project. The AI Toolkit output says why; `aitk-inference api-key` prints it too.');
  return false;
}
