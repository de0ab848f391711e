// Owns the language client: finds the interpreter, prepares the server environment, starts
// `python -m aitk_inference serve` over stdio, answers the server's requests, restarts it on a
// setting change or a crash (a limited number of times), and reports a failed start in plain words.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CloseAction,
  type CloseHandlerResult,
  ErrorAction,
  type ErrorHandler,
  type ErrorHandlerResult,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
} from 'vscode-languageclient/node';
import { discoverInterpreter, vscodeInterpreterSources } from './interpreter';
import { input, pick } from './pickers';
import type { CommandTransport } from './progress';
import { MAX_RESTARTS, RESTART_WINDOW_MS, RestartPolicy, serverEnvironment } from './lifecycle';
import { ACTION_METHODS, type ActionHost, createProjectFiles, openSettings, signIn } from './serverActions';
import { ensureServerPython, ServerStartError } from './serverEnv';
import { authProvider, getToken } from './token';
import { ignoredMessage, keysInSettingsFiles, TRUSTED_ONLY, trustedValue, workspaceOverrides } from './trustedSettings';

export const SERVER_METHODS = {
  pick: 'aitk/pick',
  input: 'aitk/input',
  getToken: 'aitk/getToken',
  copyToClipboard: 'aitk/copyToClipboard',
  showOutput: 'aitk/showOutput',
  runProvision: 'aitk/runProvision',
  copyApiKey: 'aitk/copyApiKey',
} as const;

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  private readonly policy = new RestartPolicy();
  private readonly disposables: vscode.Disposable[] = [];
  private ignoredSaid = '';
  private readonly clientHooks: ((client: LanguageClient) => void)[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    // Redacting (redact.ts): the client writes its log and the LSP trace here.
    readonly output: vscode.LogOutputChannel,
    // "Copy API Key" pressed in the server's "Deployment done." message (the folder's URI, if given).
    private readonly onCopyApiKey: (workspaceFolder: string | undefined) => void = () => undefined,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('aitk.inference') && (this.client || this.starting)) {
          this.output.info('Settings changed: restarting the inference server.');
          void this.restart().catch((err: unknown) => this.reportStartFailure(err));
        }
      }),
    );
  }

  /** Registers more handlers on every client this manager starts (e.g. the log stream's). */
  onClient(hook: (client: LanguageClient) => void): void {
    this.clientHooks.push(hook);
  }

  /** The running client, starting the server first if needed. */
  async get(): Promise<LanguageClient> {
    if (this.client?.isRunning()) return this.client;
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.policy.reset();
    await this.get();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.dispose(5_000);
      } catch (err) {
        this.output.warn(`Stopping the server: ${String(err)}`);
      }
    }
  }

  transport(client: LanguageClient): CommandTransport {
    return {
      onWorkDoneProgress: (token, handler) => client.onProgress(WorkDoneProgress.type, token, handler),
      executeCommand: (command, args, workDoneToken, cancel) =>
        client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args, workDoneToken }, cancel),
      cancelWorkDone: (token) => {
        void client.sendNotification(WorkDoneProgressCancelNotification.type, { token });
      },
    };
  }

  reportStartFailure(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.output.error(`The inference server did not start: ${message}`);
    void vscode.window
      .showErrorMessage(`AI Toolkit: the inference server did not start. ${message}`, 'Show log')
      .then((choice) => {
        if (choice === 'Show log') this.output.show();
      });
  }

  private async start(): Promise<LanguageClient> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const interpreter = await discoverInterpreter(vscodeInterpreterSources(folder));
    if (!interpreter) {
      throw new ServerStartError('No Python found: install Python 3.11+ or set "aitk.inference.python" to its path.');
    }
    const source = interpreter.source === 'setting' ? 'the aitk.inference.python setting' : interpreter.source === 'path' ? 'PATH' : 'the Python extension';
    const python = await ensureServerPython({
      basePython: interpreter.path,
      source,
      extensionRoot: this.context.extensionPath,
      storageDir: this.context.globalStorageUri.fsPath,
      log: (line) => this.output.info(line),
      withInstallProgress: (task) =>
        vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'AI Toolkit: setting up the inference server' },
          (progress) => task((message) => progress.report({ message })),
        ),
    });
    const config = vscode.workspace.getConfiguration('aitk.inference', folder);
    await this.reportIgnoredWorkspaceSettings(config);
    const serverOptions: ServerOptions = {
      command: python,
      args: ['-m', 'aitk_inference', 'serve'],
      options: { env: serverEnvironment(config) },
    };
    const clientOptions: LanguageClientOptions = {
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      errorHandler: this.errorHandler(),
      initializationFailedHandler: (error) => {
        this.output.error(`The inference server failed to initialize: ${String(error)}`);
        return false;
      },
    };
    const client = new LanguageClient('aitk.inference', 'AI Toolkit', serverOptions, clientOptions);
    this.registerHandlers(client);
    this.output.info(`Starting ${python} -m aitk_inference serve`);
    try {
      await client.start();
    } catch (err) {
      await client.dispose().catch(() => undefined);
      throw new ServerStartError(`"${python} -m aitk_inference serve" exited during start-up (${err instanceof Error ? err.message : String(err)}). The AI Toolkit output has its log.`);
    }
    this.client = client;
    return client;
  }

  /** Once (until it changes): a workspace that tries to set where tokens go is told it was ignored. */
  private async reportIgnoredWorkspaceSettings(config: vscode.WorkspaceConfiguration): Promise<void> {
    const files = (vscode.workspace.workspaceFolders ?? []).map((f) => path.join(f.uri.fsPath, '.vscode', 'settings.json'));
    const workspaceFile = vscode.workspace.workspaceFile;
    if (workspaceFile?.scheme === 'file') files.push(workspaceFile.fsPath);
    const found = new Set([...workspaceOverrides(config), ...(await keysInSettingsFiles(files))]);
    const keys = TRUSTED_ONLY.map((k) => `aitk.inference.${k}`).filter((k) => found.has(k));
    const said = keys.join(',');
    if (keys.length && said !== this.ignoredSaid) this.output.warn(ignoredMessage(keys));
    this.ignoredSaid = said;
  }

  private errorHandler(): ErrorHandler {
    return {
      error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue }),
      closed: (): CloseHandlerResult => {
        if (this.policy.shouldRestart()) {
          this.output.warn('The inference server stopped unexpectedly: restarting it.');
          return { action: CloseAction.Restart, handled: true };
        }
        return {
          action: CloseAction.DoNotRestart,
          message: `AI Toolkit: the inference server stopped ${MAX_RESTARTS + 1} times in ${RESTART_WINDOW_MS / 60_000} minutes and was not restarted. See the AI Toolkit output for its log; running a command starts it again.`,
        };
      },
    };
  }

  private registerHandlers(client: LanguageClient): void {
    // The token is cancelled when the server sends $/cancelRequest (its operation was cancelled).
    client.onRequest(SERVER_METHODS.pick, (params: unknown, token: vscode.CancellationToken) => pick(params, token));
    client.onRequest(SERVER_METHODS.input, (params: unknown, token: vscode.CancellationToken) => input(params, token));
    client.onRequest(SERVER_METHODS.getToken, (params: unknown) =>
      getToken(params, {
        tokenCommand: () =>
          vscode.workspace.getConfiguration('aitk.inference').get<string>('tokenCommand')?.trim() ||
          process.env.AITK_AZURE_TOKEN_COMMAND,
        // No session for this tenant yet: VS Code asks the user to sign in to it.
        microsoftSession: async (scopes) =>
          (await vscode.authentication.getSession(authProvider(trustedValue(vscode.workspace.getConfiguration('aitk.inference'), 'cloud')), scopes, { createIfNone: true }))?.accessToken,
      }),
    );
    client.onNotification(SERVER_METHODS.copyToClipboard, (params: { text?: unknown }) => {
      if (typeof params?.text === 'string') void vscode.env.clipboard.writeText(params.text);
    });
    client.onNotification(SERVER_METHODS.showOutput, () => this.output.show(true));
    client.onNotification(SERVER_METHODS.copyApiKey, (params: { workspaceFolder?: unknown }) => {
      this.onCopyApiKey(typeof params?.workspaceFolder === 'string' ? params.workspaceFolder : undefined);
    });
    client.onNotification(SERVER_METHODS.runProvision, () => {
      void vscode.commands.executeCommand('aitk.inference.provision');
    });
    for (const hook of this.clientHooks) hook(client);
    const host: ActionHost = {
      output: this.output,
      executeCommand: (command, ...args) => vscode.commands.executeCommand(command, ...args),
      getSession: (scopes) => vscode.authentication.getSession('microsoft', scopes, { createIfNone: true }),
    };
    client.onNotification(ACTION_METHODS.createProjectFiles, (params: unknown) => createProjectFiles(host, params));
    client.onNotification(ACTION_METHODS.signIn, () => signIn(host));
    client.onNotification(ACTION_METHODS.openSettings, (params: unknown) => openSettings(host, params));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    void this.stop();
  }
}
