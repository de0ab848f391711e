// Entry point: the "AI Toolkit" commands. The work happens in the Python server; this side
// picks the workspace folder, runs the server command under a progress notification, and shows
// results that the server does not already show itself.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import { ServerManager } from './client';
import { runServerCommand } from './progress';
import { scaffold } from './scaffold';
import { COMMANDS, SERVER_COMMANDS } from './settings';

let manager: ServerManager | undefined;

async function hasInfra(folder: vscode.WorkspaceFolder): Promise<boolean> {
  try {
    return (await fs.stat(path.join(folder.uri.fsPath, 'infra'))).isDirectory();
  } catch {
    return false;
  }
}

/** The folder that holds infra/; asks when several do. */
async function chooseFolder(requireInfra: boolean): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    void vscode.window.showErrorMessage('AI Toolkit: open your project folder first (File > Open Folder), then run the command again.');
    return undefined;
  }
  if (folders.length === 1) return folders[0];
  const candidates = requireInfra ? (await Promise.all(folders.map(async (f) => ((await hasInfra(f)) ? f : undefined)))).filter((f) => f !== undefined) : [];
  if (candidates.length === 1) return candidates[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: requireInfra ? 'Which project (the folder with infra/)?' : 'Create the project files in which folder?', ignoreFocusOut: true });
}

async function runCommand(kind: 'provision' | 'deploy' | 'status', title: string): Promise<unknown> {
  if (!manager) return undefined;
  const folder = await chooseFolder(true);
  if (!folder) return undefined;
  let client;
  try {
    client = await manager.get();
  } catch (err) {
    manager.reportStartFailure(err);
    return undefined;
  }
  try {
    const transport = manager.transport(client);
    // Tracked: a restart the user asks for meanwhile waits for it.
    const outcome = await manager.commands.track(kind, () =>
      runServerCommand(transport, title, SERVER_COMMANDS[kind], { workspaceFolder: folder.uri.toString() }),
    );
    if (outcome.cancelled) {
      manager.output.info(`${title}: cancelled.`);
      return undefined;
    }
    return outcome.result;
  } catch (err) {
    // A JSON-RPC error carries the server's plain-words message, which the server has already shown.
    if (err instanceof ResponseError) {
      manager.output.error(`${title}: ${err.message}`);
    } else {
      const message = err instanceof Error ? err.message : String(err);
      manager.output.error(`${title}: ${message}`);
      const choice = await vscode.window.showErrorMessage(`AI Toolkit: ${title} failed: ${message}`, 'Show log');
      if (choice === 'Show log') manager.output.show();
    }
    return undefined;
  }
}

async function showStatus(): Promise<void> {
  const result = (await runCommand('status', 'AI Toolkit: inference status')) as { lines?: unknown } | undefined;
  if (!manager || !result) return;
  const lines = Array.isArray(result.lines) ? result.lines.filter((l): l is string => typeof l === 'string') : [];
  for (const line of lines) manager.output.info(line);
  manager.output.show(true);
}

async function createProjectFiles(context: vscode.ExtensionContext): Promise<void> {
  const folder = await chooseFolder(false);
  if (!folder) return;
  try {
    const result = await scaffold(context.extensionPath, folder.uri.fsPath);
    manager?.output.info(`Project files: created ${result.created.join(', ') || 'none'}; kept existing ${result.kept.join(', ') || 'none'}.`);
    const kept = result.kept.length ? ` (${result.kept.length} existing files kept as they were)` : '';
    void vscode.window.showInformationMessage(`AI Toolkit: created ${result.created.length} inference project files in ${folder.name}${kept}.`);
  } catch (err) {
    void vscode.window.showErrorMessage(`AI Toolkit: could not create the project files: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('AI Toolkit', { log: true });
  manager = new ServerManager(context, output);
  context.subscriptions.push(
    output,
    manager,
    vscode.commands.registerCommand(COMMANDS.provision, () => runCommand('provision', 'AI Toolkit: Provision Azure Container Apps for inference')),
    vscode.commands.registerCommand(COMMANDS.deploy, () => runCommand('deploy', 'AI Toolkit: Deploy for inference')),
    vscode.commands.registerCommand(COMMANDS.status, () => showStatus()),
    vscode.commands.registerCommand(COMMANDS.createProjectFiles, () => createProjectFiles(context)),
    vscode.commands.registerCommand(COMMANDS.restartServer, () => manager?.requestRestart('asked for by the user')),
  );
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
  manager = undefined;
}
