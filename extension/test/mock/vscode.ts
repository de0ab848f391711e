// A small stand-in for the `vscode` module (unit tests only; esbuild aliases `vscode` to it).
// Tests replace the functions on `window`, `workspace`, … to script the user's answers.
/* eslint-disable @typescript-eslint/no-explicit-any */

export class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners: ((e: T) => void)[] = [];
  event = (listener: (e: T) => void): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  token = {
    isCancellationRequested: false,
    onCancellationRequested: this.emitter.event,
  };
  cancel(): void {
    if (this.token.isCancellationRequested) return;
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
  dispose(): void {
    this.emitter.dispose();
  }
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export class Uri {
  private constructor(readonly fsPath: string) {}
  static file(p: string): Uri {
    return new Uri(p);
  }
  toString(): string {
    return `file://${this.fsPath}`;
  }
}

type Fn = (...args: any[]) => any;
const unset = (name: string): Fn => () => {
  throw new Error(`mock vscode: ${name} was called but the test did not script it`);
};

export const window: Record<string, Fn> = {};
export const workspace: Record<string, any> = {};
export const extensions: Record<string, Fn> = {};
export const authentication: Record<string, Fn> = {};
export const env: Record<string, any> = {};

/** Puts every scripted function back to "fail if called". */
export function __reset(): void {
  for (const name of ['showQuickPick', 'showInputBox', 'withProgress', 'showErrorMessage', 'showInformationMessage']) {
    window[name] = unset(`window.${name}`);
  }
  workspace.getConfiguration = unset('workspace.getConfiguration');
  workspace.workspaceFolders = undefined;
  extensions.getExtension = () => undefined;
  authentication.getSession = unset('authentication.getSession');
  env.clipboard = { writeText: unset('env.clipboard.writeText') };
}
__reset();
