// What the buttons of the server's notifications ask the extension to do: the server decides
// which action fits an error; these handlers carry it out in VS Code.
import * as vscode from 'vscode';

export const ACTION_METHODS = {
  createProjectFiles: 'aitk/createProjectFiles',
  signIn: 'aitk/signIn',
  openSettings: 'aitk/openSettings',
} as const;

/** The Azure Resource Manager scope VS Code's Microsoft sign-in is asked for. */
export const ARM_SCOPES = ['https://management.azure.com/.default'];

export interface ActionHost {
  output: vscode.LogOutputChannel;
  executeCommand(command: string, ...args: unknown[]): Thenable<unknown>;
  getSession(scopes: string[]): Thenable<{ account: { label: string } } | undefined>;
}

function folderUri(params: unknown): vscode.Uri | undefined {
  const raw = (params as { workspaceFolder?: unknown } | undefined)?.workspaceFolder;
  if (typeof raw !== 'string' || !raw) return undefined;
  return (vscode.workspace.workspaceFolders ?? []).find((f) => f.uri.toString() === raw)?.uri;
}

/** "Create inference project files": the scaffold command, in the project the error was about. */
export async function createProjectFiles(host: ActionHost, params: unknown): Promise<void> {
  await host.executeCommand('aitk.inference.createProjectFiles', folderUri(params));
}

/** "Sign in": VS Code's Microsoft account dialog again (after a dismissed or failed sign-in). */
export async function signIn(host: ActionHost): Promise<void> {
  try {
    const session = await host.getSession(ARM_SCOPES);
    if (session) host.output.info(`Signed in to Azure as ${session.account.label}. Run the command again.`);
  } catch (err) {
    host.output.warn(`Sign-in did not complete: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** "Open Settings": the Settings editor filtered to this extension's settings (CA bundle, endpoint). */
export async function openSettings(host: ActionHost, params: unknown): Promise<void> {
  const query = (params as { query?: unknown } | undefined)?.query;
  await host.executeCommand('workbench.action.openSettings', typeof query === 'string' && query ? query : 'aitk.inference');
}
