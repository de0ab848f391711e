// How the server process is started. A platform-specific VSIX carries the server's dependencies in
// bundled/libs (common/ plus one folder per CPython minor, see scripts/bundle_python_libs.py):
// server/launch.py puts them first on sys.path, so the chosen interpreter needs nothing installed,
// and nothing is created, copied or downloaded on first start. Without bundled libraries (a
// development checkout) the interpreter must already have this exact server version.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type Exec, execProcess } from './exec';
import { describeSource, type Interpreter } from './interpreter';
import { CONFIG_KEYS, fullKey } from './settings';

/** A failure to get the server running, in plain words; `openSettings`: the fix is a setting. */
export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly openSettings = false,
  ) {
    super(message);
  }
}

export interface BundleManifest {
  target: string;
  /** CPython minors with a bundled/libs/cpXY folder, e.g. ["3.11", "3.12", "3.13"]. */
  pythons: string[];
}

export interface Launch {
  command: string;
  args: string[];
  /** For the log: where the server's libraries come from. */
  libraries: string;
}

export async function bundleVersion(extensionRoot: string): Promise<string> {
  const pyproject = await fs.readFile(path.join(extensionRoot, 'pyproject.toml'), 'utf8');
  const m = /^version\s*=\s*"([^"]+)"/m.exec(pyproject);
  if (!m?.[1]) throw new ServerStartError(`No version in ${path.join(extensionRoot, 'pyproject.toml')}.`);
  return m[1];
}

export async function readManifest(extensionRoot: string): Promise<BundleManifest | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(extensionRoot, 'bundled', 'libs', 'manifest.json'), 'utf8');
  } catch {
    return undefined;
  }
  const data = JSON.parse(text) as Partial<BundleManifest>;
  if (typeof data.target !== 'string' || !Array.isArray(data.pythons)) return undefined;
  return { target: data.target, pythons: data.pythons.filter((p): p is string => typeof p === 'string') };
}

/** The installed aitk-inference version seen by `python`, or undefined. */
export async function installedServerVersion(exec: Exec, python: string): Promise<string | undefined> {
  const probe = 'import importlib.metadata as m\ntry: print(m.version("aitk-inference"))\nexcept m.PackageNotFoundError: pass';
  try {
    const out = await exec(python, ['-c', probe], { timeoutMs: 20_000 });
    return out.code === 0 && out.stdout.trim() ? out.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

export async function serverLaunch(extensionRoot: string, python: Interpreter, exec: Exec = execProcess): Promise<Launch> {
  const manifest = await readManifest(extensionRoot);
  const named = `"${python.path}" (${describeSource(python.source)}, ${python.implementation} ${python.version})`;
  if (manifest && python.implementation === 'cpython' && manifest.pythons.includes(python.minor)) {
    // -I: the user's PYTHONPATH and site-packages cannot shadow the bundled versions.
    return {
      command: python.path,
      args: ['-I', path.join(extensionRoot, 'server', 'launch.py'), 'serve'],
      libraries: `the libraries bundled for ${manifest.target}, CPython ${python.minor}`,
    };
  }
  const version = await bundleVersion(extensionRoot);
  if ((await installedServerVersion(exec, python.path)) === version) {
    return { command: python.path, args: ['-m', 'aitk_inference', 'serve'], libraries: `aitk-inference ${version} installed in ${python.path}` };
  }
  const setting = `"${fullKey(CONFIG_KEYS.python)}"`;
  if (manifest) {
    throw new ServerStartError(
      `This build of the extension (${manifest.target}) carries the server's libraries for CPython ${manifest.pythons.join(', ')}, and ${named} is not one of them. Set ${setting} to one of those.`,
      true,
    );
  }
  throw new ServerStartError(
    `This copy of the extension has no bundled Python libraries (it is not a platform-specific VSIX), and ${named} does not have aitk-inference ${version}. Install the extension's VSIX for your platform, or set ${setting} to an interpreter that has aitk-inference ${version}.`,
    true,
  );
}
