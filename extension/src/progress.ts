// Runs a server command inside a cancellable progress notification fed by the server's $/progress.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';

/** The LSP WorkDoneProgress payloads (begin / report / end). */
export interface WorkDoneValue {
  kind: 'begin' | 'report' | 'end';
  title?: string;
  message?: string;
  percentage?: number;
  cancellable?: boolean;
}

export interface ProgressStep {
  message?: string;
  increment?: number;
}

/**
 * Turns LSP percentages (absolute, 0-100) into withProgress increments (deltas). Percentages that
 * go backwards are ignored: the notification bar cannot shrink.
 */
export class ProgressFeeder {
  private last = 0;

  constructor(private readonly progress: vscode.Progress<ProgressStep>) {}

  handle(value: WorkDoneValue): void {
    const step: ProgressStep = {};
    const message = value.kind === 'begin' ? (value.message ?? value.title) : value.message;
    if (message !== undefined) step.message = message;
    if (value.kind !== 'end' && typeof value.percentage === 'number' && Number.isFinite(value.percentage)) {
      const pct = Math.min(100, Math.max(0, value.percentage));
      if (pct > this.last) {
        step.increment = pct - this.last;
        this.last = pct;
      }
    }
    if (step.message !== undefined || step.increment !== undefined) this.progress.report(step);
  }
}

/** What runServerCommand needs from the language client (an adapter keeps this module testable). */
export interface CommandTransport {
  onWorkDoneProgress(token: string, handler: (value: WorkDoneValue) => void): vscode.Disposable;
  /** workspace/executeCommand; cancelling `cancel` sends $/cancelRequest. */
  executeCommand(command: string, args: unknown[], workDoneToken: string, cancel: vscode.CancellationToken): Promise<unknown>;
  /** window/workDoneProgress/cancel */
  cancelWorkDone(token: string): void;
}

export interface CommandOutcome {
  cancelled: boolean;
  result?: unknown;
}

export async function runServerCommand(
  transport: CommandTransport,
  title: string,
  command: string,
  args: Record<string, unknown>,
  newToken: () => string = randomUUID,
): Promise<CommandOutcome> {
  const token = `aitk-${newToken()}`;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, cancel) => {
      const feeder = new ProgressFeeder(progress);
      const progressSub = transport.onWorkDoneProgress(token, (value) => feeder.handle(value));
      const cancelSub = cancel.onCancellationRequested(() => transport.cancelWorkDone(token));
      try {
        const result = await transport.executeCommand(command, [{ ...args, workDoneToken: token }], token, cancel);
        return { cancelled: cancel.isCancellationRequested, result };
      } catch (err) {
        // The server answers a cancelled request with an error; that is the expected outcome.
        if (cancel.isCancellationRequested) return { cancelled: true };
        throw err;
      } finally {
        progressSub.dispose();
        cancelSub.dispose();
      }
    },
  );
}
