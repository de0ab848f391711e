// Operating the app after deploy: live logs into their own output channel, stop/start, tear down.
// The server does the work (aitk.inference.server.logs|stop|start|down); the typed confirmation of
// a tear down is the server's aitk/input request.
import * as vscode from 'vscode';
import type { ServerManager } from './client';
import { COMMANDS } from './settings';

/** Server → client notifications of these commands (see server/README.md). */
export const OPERATE_METHODS = {
  logLines: 'aitk/logLines',
  runCommand: 'aitk/runCommand',
} as const;

export const OPERATE_COMMANDS = { logs: COMMANDS.logs, stop: COMMANDS.stop, start: COMMANDS.start, down: COMMANDS.down } as const;

type Runner = (kind: 'logs' | 'stop' | 'start' | 'down', title: string, extra?: Record<string, unknown>) => Promise<unknown>;

/** History shown when a stream starts (the log stream API allows 0-300). */
const LOG_TAIL = 100;

/** The lines of an aitk/logLines notification, or [] for anything else. */
export function logLines(params: unknown): string[] {
  const lines = (params as { lines?: unknown } | undefined)?.lines;
  return Array.isArray(lines) ? lines.filter((l): l is string => typeof l === 'string') : [];
}

export interface TeardownChoice {
  environment: boolean;
  logAnalytics: boolean;
}

export const TEARDOWN_EXTRAS = {
  environment: 'Also delete the Container Apps environment',
  logAnalytics: 'Also delete the environment\'s Log Analytics workspace',
} as const;

/** What the user ticked besides the app; the workspace goes only with its environment. */
export function teardownChoice(picked: readonly string[]): TeardownChoice {
  const environment = picked.includes(TEARDOWN_EXTRAS.environment) || picked.includes(TEARDOWN_EXTRAS.logAnalytics);
  return { environment, logAnalytics: picked.includes(TEARDOWN_EXTRAS.logAnalytics) };
}

export function registerOperateCommands(context: vscode.ExtensionContext, manager: ServerManager, run: Runner): void {
  let channel: vscode.OutputChannel | undefined;
  const logs = (): vscode.OutputChannel => {
    channel ??= vscode.window.createOutputChannel('AI Toolkit: Inference Logs');
    return channel;
  };
  manager.onClient((client) => {
    client.onNotification(OPERATE_METHODS.logLines, (params: unknown) => {
      for (const line of logLines(params)) logs().appendLine(line);
    });
    client.onNotification(OPERATE_METHODS.runCommand, (params: { command?: unknown }) => {
      const command = params?.command === 'logs' ? OPERATE_COMMANDS.logs : params?.command === 'start' ? OPERATE_COMMANDS.start : undefined;
      if (command) void vscode.commands.executeCommand(command);
    });
  });

  const streamLogs = async (): Promise<void> => {
    logs().show(true);
    // Runs until the user presses Cancel on its progress notification (the server then ends it cleanly).
    await run('logs', 'AI Toolkit: Stream Inference Logs (Cancel stops)', { follow: true, tail: LOG_TAIL });
  };

  const tearDown = async (): Promise<void> => {
    const picked = await vscode.window.showQuickPick([TEARDOWN_EXTRAS.environment, TEARDOWN_EXTRAS.logAnalytics], {
      title: 'Tear down: the container app is deleted. Delete more? (The storage account and file share are kept.)',
      canPickMany: true,
      ignoreFocusOut: true,
    });
    if (picked === undefined) return;
    await run('down', 'AI Toolkit: Tear Down Inference App', { ...teardownChoice(picked) });
  };

  context.subscriptions.push(
    { dispose: () => channel?.dispose() },
    vscode.commands.registerCommand(OPERATE_COMMANDS.logs, streamLogs),
    vscode.commands.registerCommand(OPERATE_COMMANDS.stop, () => run('stop', 'AI Toolkit: Stop Inference App')),
    vscode.commands.registerCommand(OPERATE_COMMANDS.start, () => run('start', 'AI Toolkit: Start Inference App')),
    vscode.commands.registerCommand(OPERATE_COMMANDS.down, tearDown),
  );
}
