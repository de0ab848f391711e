// The Python environment that runs the server: the chosen interpreter itself when it already has
// the bundled server version, else a private venv in the extension's global storage, created and
// filled from the server package shipped inside the extension on first start, reused afterwards.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export type Exec = (command: string, args: string[], options?: { cwd?: string }) => Promise<ExecResult>;

export const execFile: Exec = (command, args, options) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options?.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

/** A failure to get the server running, in plain words for the user. */
export class ServerStartError extends Error {}

export const MIN_PYTHON: readonly [number, number] = [3, 11];

/** Files of the bundled server package (relative to the extension root) that pip installs. */
export const BUNDLE_FILES = ['pyproject.toml', 'README.md', 'server/aitk_inference'];

export async function bundleVersion(extensionRoot: string): Promise<string> {
  const pyproject = await fs.readFile(path.join(extensionRoot, 'pyproject.toml'), 'utf8');
  const m = /^version\s*=\s*"([^"]+)"/m.exec(pyproject);
  if (!m?.[1]) throw new ServerStartError(`No version in ${path.join(extensionRoot, 'pyproject.toml')}.`);
  return m[1];
}

/** Changes when the pinned dependencies change, so the venv is rebuilt then and only then. */
export async function bundleFingerprint(extensionRoot: string): Promise<string> {
  const pyproject = await fs.readFile(path.join(extensionRoot, 'pyproject.toml'));
  return createHash('sha256').update(pyproject).digest('hex').slice(0, 16);
}

export function venvPython(venvDir: string): string {
  return process.platform === 'win32' ? path.join(venvDir, 'Scripts', 'python.exe') : path.join(venvDir, 'bin', 'python');
}

function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** The installed aitk-inference version seen by `python`, or undefined. */
export async function installedServerVersion(exec: Exec, python: string): Promise<string | undefined> {
  const probe = 'import importlib.metadata as m\ntry: print(m.version("aitk-inference"))\nexcept m.PackageNotFoundError: pass';
  try {
    const out = await exec(python, ['-c', probe]);
    return out.code === 0 && out.stdout.trim() ? out.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

export async function checkPythonVersion(exec: Exec, python: string, source: string): Promise<void> {
  let out: ExecResult;
  try {
    out = await exec(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
  } catch (err) {
    throw new ServerStartError(`Could not run the Python interpreter "${python}" (from ${source}): ${(err as Error).message}. Set "aitk.inference.python" to a Python ${MIN_PYTHON.join('.')}+ interpreter.`);
  }
  const [major, minor] = out.stdout.trim().split('.').map(Number);
  if (out.code !== 0 || major === undefined || minor === undefined) {
    throw new ServerStartError(`The Python interpreter "${python}" (from ${source}) did not run: ${tail(out.stderr, 2)}`);
  }
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new ServerStartError(`The inference server needs Python ${MIN_PYTHON.join('.')}+, but "${python}" (from ${source}) is ${major}.${minor}. Set "aitk.inference.python" to a newer interpreter.`);
  }
}

async function copyTree(src: string, dest: string): Promise<void> {
  await fs.cp(src, dest, {
    recursive: true,
    filter: (p) => !p.includes('__pycache__') && !p.endsWith('.egg-info'),
  });
}

export interface EnsureOptions {
  basePython: string;
  source: string;
  extensionRoot: string;
  storageDir: string;
  exec?: Exec;
  log: (line: string) => void;
  /** Wraps the (slow, first start only) install so the user sees a progress notification. */
  withInstallProgress: <T>(task: (report: (message: string) => void) => Promise<T>) => Thenable<T>;
}

/** Returns the interpreter to start the server with. */
export async function ensureServerPython(opts: EnsureOptions): Promise<string> {
  const exec = opts.exec ?? execFile;
  const version = await bundleVersion(opts.extensionRoot);
  await checkPythonVersion(exec, opts.basePython, opts.source);
  // A developer setup (or CI) whose interpreter already has this exact server version runs it as is.
  if ((await installedServerVersion(exec, opts.basePython)) === version) {
    opts.log(`Using ${opts.basePython} (${opts.source}): it has aitk-inference ${version}.`);
    return opts.basePython;
  }
  const fingerprint = await bundleFingerprint(opts.extensionRoot);
  const venvDir = path.join(opts.storageDir, `server-venv-${version}`);
  const stamp = path.join(venvDir, '.aitk-installed');
  const python = venvPython(venvDir);
  try {
    if ((await fs.readFile(stamp, 'utf8')).trim() === fingerprint) {
      opts.log(`Using the server environment ${venvDir}.`);
      return python;
    }
  } catch {
    // no stamp: install below
  }
  return opts.withInstallProgress(async (report) => {
    const fail = (what: string, out: ExecResult): never => {
      opts.log(`${what} failed:\n${out.stdout}\n${out.stderr}`);
      throw new ServerStartError(`Could not install the AI Toolkit inference server into ${venvDir}: ${what} failed: ${tail(out.stderr, 3) || `exit code ${String(out.code)}`}. Check the network or proxy for pip, or set "aitk.inference.python" to an interpreter that has aitk-inference ${version}.`);
    };
    await fs.rm(venvDir, { recursive: true, force: true });
    await fs.mkdir(opts.storageDir, { recursive: true });
    report('Creating a Python environment…');
    opts.log(`Creating ${venvDir} with ${opts.basePython}`);
    const venv = await exec(opts.basePython, ['-m', 'venv', venvDir]);
    if (venv.code !== 0) fail(`"${opts.basePython} -m venv"`, venv);
    // pip builds in the source folder: copy the bundle out of the (possibly read-only) extension folder.
    const src = path.join(opts.storageDir, `server-src-${version}`);
    await fs.rm(src, { recursive: true, force: true });
    for (const rel of BUNDLE_FILES) await copyTree(path.join(opts.extensionRoot, rel), path.join(src, rel));
    report('Installing the inference server and the Azure SDKs (first start only)…');
    opts.log(`pip install ${src}`);
    const pip = await exec(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', src]);
    if (pip.code !== 0) fail('pip install', pip);
    await fs.rm(src, { recursive: true, force: true });
    await fs.writeFile(stamp, fingerprint);
    opts.log(`Installed aitk-inference ${version} into ${venvDir}.`);
    return python;
  });
}
