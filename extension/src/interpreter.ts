// Which Python runs the server: the setting, else the Python extension's interpreter (when that
// extension is installed; it is not a dependency), else python3/python on PATH.
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

export type InterpreterSource = 'setting' | 'python-extension' | 'path';

export interface Interpreter {
  path: string;
  source: InterpreterSource;
}

export interface InterpreterSources {
  setting(): string | undefined;
  pythonExtension(): Promise<string | undefined>;
  onPath(name: string): Promise<string | undefined>;
}

export const PATH_CANDIDATES = process.platform === 'win32' ? ['python', 'py'] : ['python3', 'python'];

export async function discoverInterpreter(sources: InterpreterSources): Promise<Interpreter | undefined> {
  const configured = sources.setting()?.trim();
  if (configured) return { path: configured, source: 'setting' };
  let fromExtension: string | undefined;
  try {
    fromExtension = await sources.pythonExtension();
  } catch {
    // A broken or still-loading Python extension must not keep the server from starting.
    fromExtension = undefined;
  }
  if (fromExtension) return { path: fromExtension, source: 'python-extension' };
  for (const name of PATH_CANDIDATES) {
    const found = await sources.onPath(name);
    if (found) return { path: found, source: 'path' };
  }
  return undefined;
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
      const value = vscode.workspace.getConfiguration('aitk.inference', resource).get<string>('python');
      return value ? expandSettingPath(value, resource?.fsPath) : undefined;
    },
    pythonExtension: () => pythonFromExtension(resource),
    onPath: (name) => findOnPath(name),
  };
}
