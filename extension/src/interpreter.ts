// Which Python runs the server: the setting, else the Python extension's interpreter (when that
// extension is installed; it is not a dependency) if it is new enough, else python3/python on PATH
// if new enough. Each candidate is run once to learn its version.
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type Exec, execProcess } from './exec';
import { CONFIG_KEYS, CONFIG_SECTION, fullKey } from './settings';

export type InterpreterSource = 'setting' | 'python-extension' | 'path';

export const MIN_PYTHON: readonly [number, number] = [3, 11];
const PROBE_TIMEOUT_MS = 20_000;

export interface Candidate {
  path: string;
  source: InterpreterSource;
}

export interface Interpreter extends Candidate {
  /** sys.implementation.name, e.g. "cpython". */
  implementation: string;
  /** "3.11.7" */
  version: string;
  /** "3.11" */
  minor: string;
}

/** A candidate that was looked at and not taken, and why. */
export interface Rejected extends Candidate {
  version?: string;
  problem: string;
}

export interface InterpreterSources {
  setting(): string | undefined;
  pythonExtension(): Promise<string | undefined>;
  onPath(name: string): Promise<string | undefined>;
  probe(python: string): Promise<Interpreter | string>;
}

export const PATH_CANDIDATES = process.platform === 'win32' ? ['python', 'py'] : ['python3', 'python'];

export function describeSource(source: InterpreterSource): string {
  if (source === 'setting') return `from the ${fullKey(CONFIG_KEYS.python)} setting`;
  return source === 'python-extension' ? 'from the Python extension' : 'on PATH';
}

/** No interpreter fits: the message names each one found and says what to do. */
export class NoInterpreterError extends Error {
  constructor(readonly found: Rejected[]) {
    super(NoInterpreterError.message(found));
  }

  static message(found: Rejected[]): string {
    const need = `Python ${MIN_PYTHON.join('.')} or newer`;
    const setting = `"${fullKey(CONFIG_KEYS.python)}"`;
    if (found.length === 0) return `No Python found: the inference server needs ${need}. Install it, or set ${setting} to its path.`;
    const seen = found.map((c) => `"${c.path}" (${describeSource(c.source)}) ${c.problem}`).join('; ');
    const todo = found.some((c) => c.source === 'setting') ? `Set ${setting} to a ${need} interpreter.` : `Install ${need}, or set ${setting} to its path.`;
    return `The inference server needs ${need}. Found: ${seen}. ${todo}`;
  }
}

export function newEnough(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  if (major === undefined || minor === undefined || Number.isNaN(major) || Number.isNaN(minor)) return false;
  return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

/** Runs `python` once: its implementation and version, or why it could not be run. */
export async function probePython(python: string, exec: Exec = execProcess): Promise<Interpreter | string> {
  const code = 'import sys; print(sys.implementation.name, "%d.%d.%d" % sys.version_info[:3])';
  let out;
  try {
    out = await exec(python, ['-c', code], { timeoutMs: PROBE_TIMEOUT_MS });
  } catch (err) {
    return `could not be run (${(err as Error).message})`;
  }
  if (out.timedOut) return `did not answer within ${PROBE_TIMEOUT_MS / 1000} s`;
  const m = /^(\S+) (\d+)\.(\d+)\.(\d+)\s*$/.exec(out.stdout.trim());
  if (out.code !== 0 || !m) {
    const detail = out.stderr.trim().split('\n').slice(-2).join(' ');
    return `did not run (exit code ${String(out.code)}${detail ? `: ${detail}` : ''})`;
  }
  const [, implementation = '', major = '', minor = '', micro = ''] = m;
  return { path: python, source: 'path', implementation, version: `${major}.${minor}.${micro}`, minor: `${major}.${minor}` };
}

export async function discoverInterpreter(sources: InterpreterSources): Promise<Interpreter> {
  const rejected: Rejected[] = [];
  const tryOne = async (candidate: Candidate): Promise<Interpreter | undefined> => {
    if (rejected.some((r) => r.path === candidate.path)) return undefined;
    const probed = await sources.probe(candidate.path);
    if (typeof probed === 'string') {
      rejected.push({ ...candidate, problem: probed });
      return undefined;
    }
    if (!newEnough(probed.version)) {
      rejected.push({ ...candidate, version: probed.version, problem: `is ${probed.version}` });
      return undefined;
    }
    return { ...probed, ...candidate };
  };

  const configured = sources.setting()?.trim();
  if (configured) {
    // An explicit choice is never second-guessed by falling back to another interpreter.
    const found = await tryOne({ path: configured, source: 'setting' });
    if (found) return found;
    throw new NoInterpreterError(rejected);
  }
  let fromExtension: string | undefined;
  try {
    fromExtension = await sources.pythonExtension();
  } catch {
    // A broken or still-loading Python extension must not keep the server from starting.
    fromExtension = undefined;
  }
  if (fromExtension) {
    const found = await tryOne({ path: fromExtension, source: 'python-extension' });
    if (found) return found;
  }
  for (const name of PATH_CANDIDATES) {
    const onPath = await sources.onPath(name);
    if (!onPath) continue;
    const found = await tryOne({ path: onPath, source: 'path' });
    if (found) return found;
  }
  throw new NoInterpreterError(rejected);
}

/** `~` and `${workspaceFolder}` are what users write in settings. */
export function expandSettingPath(value: string, workspaceFolder: string | undefined): string {
  let out = value.trim();
  if (out === '~' || out.startsWith('~/')) out = path.join(os.homedir(), out.slice(1));
  if (workspaceFolder) out = out.split('${workspaceFolder}').join(workspaceFolder);
  return out;
}

export async function findOnPath(name: string, envPath = process.env.PATH ?? ''): Promise<string | undefined> {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        await fs.access(candidate, fsConstants.X_OK);
        const stat = await fs.stat(candidate);
        if (stat.isFile()) return candidate;
      } catch {
        // not here: keep looking
      }
    }
  }
  return undefined;
}

/** The subset of the ms-python.python API used here (both its current and older shapes). */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(env: { path: string } | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: {
    getExecutionDetails(resource?: vscode.Uri): { execCommand: string[] | undefined };
  };
}

export async function pythonFromExtension(resource: vscode.Uri | undefined): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (!ext) return undefined;
  const api = ext.isActive ? ext.exports : await ext.activate();
  const active = api?.environments?.getActiveEnvironmentPath(resource);
  if (active) {
    const resolved = await api?.environments?.resolveEnvironment(active);
    const exe = resolved?.executable.uri?.fsPath;
    if (exe) return exe;
  }
  return api?.settings?.getExecutionDetails(resource).execCommand?.[0];
}

export function vscodeInterpreterSources(resource: vscode.Uri | undefined): InterpreterSources {
  return {
    setting: () => {
      const value = vscode.workspace.getConfiguration(CONFIG_SECTION, resource).get<string>(CONFIG_KEYS.python);
      return value ? expandSettingPath(value, resource?.fsPath) : undefined;
    },
    pythonExtension: () => pythonFromExtension(resource),
    onPath: (name) => findOnPath(name),
    probe: (python) => probePython(python),
  };
}
