// Owns the language client: finds the interpreter, starts the server from the extension's own
// folder (`server/launch.py` with the bundled libraries, see serverEnv.ts), answers the server's
// requests, restarts it after a crash (a limited number of times) or when a setting that needs a
// new process changes (after the running commands end), and reports a failed start in plain words.
// The settings that say where tokens go and which CAs are trusted (cloud, armEndpoint, caBundle)
// come from user/machine scope only (trustedSettings.ts): at start, and in every
// workspace/configuration answer the server gets.
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
import { describeSource, discoverInterpreter, NoInterpreterError, vscodeInterpreterSources } from './interpreter';
import { MAX_RESTARTS, RESTART_WINDOW_MS, RestartPolicy, RunningCommands } from './lifecycle';
import { input, pick } from './pickers';
import type { CommandTransport } from './progress';
import { redactingChannel } from './redact';
import { ACTION_METHODS, type ActionHost, createProjectFiles, openSettings, signIn } from './serverActions';
import { serverLaunch, ServerStartError } from './serverEnv';
import { COMMANDS, CONFIG_KEYS, CONFIG_SECTION, fullKey, RESTART_KEYS } from './settings';
import { authProvider, getToken } from './token';
import { ignoredMessage, keysInSettingsFiles, TRUSTED_ONLY, trustedValue, withTrustedValues, workspaceOverrides } from './trustedSettings';

export const SERVER_METHODS = {
  pick: 'aitk/pick',
  input: 'aitk/input',
  getToken: 'aitk/getToken',
  copyToClipboard: 'aitk/copyToClipboard',
  showOutput: 'aitk/showOutput',
  runProvision: 'aitk/runProvision',
  copyApiKey: 'aitk/copyApiKey',
} as const;

export const OPEN_SETTINGS = 'Open Settings';

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  private readonly policy = new RestartPolicy();
  readonly commands = new RunningCommands();
  private readonly traceChannel: vscode.LogOutputChannel;
  private readonly disposables: vscode.Disposable[] = [];
  private ignoredSaid = '';
  private readonly clientHooks: ((client: LanguageClient) => void)[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    // Redacting (redact.ts): the client writes its log here.
    readonly output: vscode.LogOutputChannel,
    // "Copy API Key" pressed in the server's "Deployment done." message (the folder's URI, if given).
    private readonly onCopyApiKey: (workspaceFolder: string | undefined) => void = () => undefined,
  ) {
    this.traceChannel = vscode.window.createOutputChannel('AI Toolkit Trace', { log: true });
    this.disposables.push(
      this.traceChannel,
      vscode.workspace.onDidChangeConfiguration((e) => {
        // Every other setting reaches the running server through workspace/configuration.
        const changed = RESTART_KEYS.filter((key) => e.affectsConfiguration(fullKey(key)));
        if (changed.length && (this.client || this.starting)) this.requestRestart(`${changed.map(fullKey).join(', ')} changed`);
        if (e.affectsConfiguration(CONFIG_SECTION)) void this.reportIgnoredWorkspaceSettings();
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

  /** Restarts once no command is running: a deploy in flight is never killed. */
  requestRestart(reason: string): void {
    const waitingFor = this.commands.whenIdle(() => {
      this.output.info(`Restarting the inference server: ${reason}.`);
      void this.restart().catch((err: unknown) => this.reportStartFailure(err));
    });
    if (waitingFor.length) {
      const what = waitingFor.join(', ');
      this.output.info(`${reason}: the inference server restarts when the running command ends (${what}).`);
      void vscode.window.showInformationMessage(`AI Toolkit: the inference server restarts when the running command ends (${what}).`);
    }
  }

  async restart(): Promise<void> {
    await this.starting?.catch(() => undefined);
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
    const fixInSettings = err instanceof NoInterpreterError || (err instanceof ServerStartError && err.openSettings);
    const buttons = fixInSettings ? [OPEN_SETTINGS, 'Show log'] : ['Show log'];
    void vscode.window.showErrorMessage(`AI Toolkit: the inference server did not start. ${message}`, ...buttons).then((choice) => {
      if (choice === 'Show log') this.output.show();
      if (choice === OPEN_SETTINGS) void vscode.commands.executeCommand('workbench.action.openSettings', fullKey(CONFIG_KEYS.python));
    });
  }

  private async start(): Promise<LanguageClient> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const root = this.context.extensionPath;
    const launch = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'AI Toolkit: starting the inference server' }, async (progress) => {
      progress.report({ message: 'looking for Python…' });
      const python = await discoverInterpreter(vscodeInterpreterSources(folder));
      this.output.info(`Python: ${python.path} (${describeSource(python.source)}, ${python.implementation} ${python.version}).`);
      return serverLaunch(root, python);
    });
    await this.reportIgnoredWorkspaceSettings();
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      // The settings reach the server through workspace/configuration (trusted ones filtered above).
      options: { cwd: root, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    };
    const clientOptions: LanguageClientOptions = {
      outputChannel: this.output,
      traceOutputChannel: redactingChannel(this.traceChannel),
      middleware: {
        workspace: {
          // The server reads the settings live; the trusted ones are answered from user scope only.
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) return answers;
            return answers.map((answer: unknown, i) => {
              const item = params.items[i];
              if (item?.section !== CONFIG_SECTION) return answer;
              const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
              return withTrustedValues(answer, vscode.workspace.getConfiguration(CONFIG_SECTION, scope));
            });
          },
        },
      },
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      errorHandler: this.errorHandler(),
      initializationFailedHandler: (error) => {
        this.output.error(`The inference server failed to initialize: ${String(error)}`);
        return false;
      },
    };
    const client = new LanguageClient(CONFIG_SECTION, 'AI Toolkit', serverOptions, clientOptions);
    this.registerHandlers(client);
    const commandLine = [launch.command, ...launch.args].join(' ');
    this.output.info(`Starting ${commandLine} (aitk_inference serve, with ${launch.libraries})`);
    try {
      await client.start();
    } catch (err) {
      await client.dispose().catch(() => undefined);
      throw new ServerStartError(`"${commandLine}" exited during start-up (${err instanceof Error ? err.message : String(err)}). The AI Toolkit output has its log.`);
    }
    this.client = client;
    return client;
  }

  /** Once (until it changes): a workspace that tries to set where tokens go is told it was ignored. */
  private async reportIgnoredWorkspaceSettings(): Promise<void> {
    const config = vscode.workspace.getConfiguration(CONFIG_SECTION, vscode.workspace.workspaceFolders?.[0]?.uri);
    const files = (vscode.workspace.workspaceFolders ?? []).map((f) => path.join(f.uri.fsPath, '.vscode', 'settings.json'));
    const workspaceFile = vscode.workspace.workspaceFile;
    if (workspaceFile?.scheme === 'file') files.push(workspaceFile.fsPath);
    const found = new Set([...workspaceOverrides(config), ...(await keysInSettingsFiles(files))]);
    const keys = TRUSTED_ONLY.map((k) => fullKey(k)).filter((k) => found.has(k));
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
          vscode.workspace.getConfiguration(CONFIG_SECTION).get<string>(CONFIG_KEYS.tokenCommand)?.trim() || process.env.AITK_AZURE_TOKEN_COMMAND,
        // No session for this tenant yet: VS Code asks the user to sign in to it.
        microsoftSession: async (scopes) =>
          (await vscode.authentication.getSession(authProvider(trustedValue(vscode.workspace.getConfiguration(CONFIG_SECTION), 'cloud')), scopes, { createIfNone: true }))?.accessToken,
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
      void vscode.commands.executeCommand(COMMANDS.provision);
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
