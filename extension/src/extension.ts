// Entry point: the "AI Toolkit" commands (operating the app after deploy: operate.ts). The work happens in the Python server; this side
// picks the workspace folder, runs the server command under a progress notification, and shows
// results that the server does not already show itself.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import { ApiKeyStore, copyApiKey } from './apiKey';
import { ServerManager } from './client';
import { registerOperateCommands } from './operate';
import { runServerCommand } from './progress';
import { redactingChannel } from './redact';
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

/** The folder that holds infra/; asks when several do. ``given``: the one a server action named. */
async function chooseFolder(requireInfra: boolean, given?: vscode.Uri): Promise<vscode.WorkspaceFolder | undefined> {
  const named = given ? vscode.workspace.getWorkspaceFolder(given) : undefined;
  if (named) return named;
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

/** Like the server's lines: "[folder] " when several folders are open, so interleaved lines say whose they are. */
function linePrefix(folder: vscode.WorkspaceFolder): string {
  return (vscode.workspace.workspaceFolders?.length ?? 0) > 1 ? `[${folder.name}] ` : '';
}

export type ServerCommand = keyof typeof SERVER_COMMANDS;

async function runCommand(
  kind: ServerCommand,
  title: string,
  extra: Record<string, unknown> = {},
  given?: vscode.WorkspaceFolder,
): Promise<unknown> {
  if (!manager) return undefined;
  const folder = given ?? (await chooseFolder(true));
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
      runServerCommand(transport, title, SERVER_COMMANDS[kind], { workspaceFolder: folder.uri.toString(), ...extra }),
    );
    if (outcome.cancelled) {
      manager.output.info(`${linePrefix(folder)}${title}: cancelled.`);
      return undefined;
    }
    return outcome.result;
  } catch (err) {
    // A JSON-RPC error carries the server's plain-words message, which the server has already
    // shown and logged: saying it again would only repeat it.
    if (!(err instanceof ResponseError)) {
      const message = err instanceof Error ? err.message : String(err);
      manager.output.error(`${linePrefix(folder)}${title}: ${message}`);
      const choice = await vscode.window.showErrorMessage(`AI Toolkit: ${title} failed: ${message}`, 'Show log');
      if (choice === 'Show log') manager.output.show();
    }
    return undefined;
  }
}

async function showStatus(): Promise<void> {
  // The server logs the status lines and ends with a summary notification (with Show Output).
  await runCommand('status', 'AI Toolkit: inference status');
}

/** The key is read through the server, kept in SecretStorage and copied; never logged (see apiKey.ts). */
async function copyApiKeyFor(context: vscode.ExtensionContext, workspaceFolder: string | undefined): Promise<void> {
  const given = workspaceFolder ? vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(workspaceFolder)) : undefined;
  const folder = given ?? (await chooseFolder(true));
  if (!folder) return;
  await copyApiKey({
    fetch: () => runCommand('apiKey', "AI Toolkit: reading the endpoint's API key", {}, folder),
    store: new ApiKeyStore(context.secrets),
    folder: folder.uri.fsPath,
    copy: (text) => vscode.env.clipboard.writeText(text),
    info: (message) => void vscode.window.showInformationMessage(message),
    error: (message) => void vscode.window.showErrorMessage(message),
  });
}

async function createProjectFiles(context: vscode.ExtensionContext, given?: vscode.Uri): Promise<void> {
  const folder = await chooseFolder(false, given instanceof vscode.Uri ? given : undefined);
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
  manager = new ServerManager(context, redactingChannel(output), (folder) => void copyApiKeyFor(context, folder));
  context.subscriptions.push(
    output,
    manager,
    vscode.commands.registerCommand(COMMANDS.provision, () => runCommand('provision', 'AI Toolkit: Provision Azure Container Apps for inference')),
    vscode.commands.registerCommand(COMMANDS.deploy, () => runCommand('deploy', 'AI Toolkit: Deploy for inference')),
    vscode.commands.registerCommand(COMMANDS.status, () => showStatus()),
    vscode.commands.registerCommand(COMMANDS.copyApiKey, () => copyApiKeyFor(context, undefined)),
    vscode.commands.registerCommand(COMMANDS.createProjectFiles, (folder?: vscode.Uri) => createProjectFiles(context, folder)),
    vscode.commands.registerCommand(COMMANDS.restartServer, () => manager?.requestRestart('asked for by the user')),
  );
  registerOperateCommands(context, manager, runCommand);
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
  manager = undefined;
}
