import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { SERVER_COMMANDS } from '../src/settings';
import { type CommandTransport, ProgressFeeder, type ProgressStep, runServerCommand, type WorkDoneValue } from '../src/progress';
import { mockWindow, RecordingProgress, resetMock } from './helpers';

/** A transport whose executeCommand plays a scripted $/progress sequence, then answers. */
class ScriptedTransport implements CommandTransport {
  handlers = new Map<string, (v: WorkDoneValue) => void>();
  calls: { command: string; args: unknown[]; token: string; cancel: vscode.CancellationToken }[] = [];
  cancelled: string[] = [];
  constructor(private readonly play: (emit: (v: WorkDoneValue) => void, cancel: vscode.CancellationToken) => Promise<unknown>) {}
  onWorkDoneProgress(token: string, handler: (v: WorkDoneValue) => void): vscode.Disposable {
    this.handlers.set(token, handler);
    return new vscode.Disposable(() => this.handlers.delete(token));
  }
  executeCommand(command: string, args: unknown[], token: string, cancel: vscode.CancellationToken): Promise<unknown> {
    this.calls.push({ command, args, token, cancel });
    return this.play((v) => this.handlers.get(token)?.(v), cancel);
  }
  cancelWorkDone(token: string): void {
    this.cancelled.push(token);
  }
}

function scriptWithProgress(progress: RecordingProgress<ProgressStep>, source: vscode.CancellationTokenSource): { options?: vscode.ProgressOptions } {
  const seen: { options?: vscode.ProgressOptions } = {};
  mockWindow().withProgress = ((options: vscode.ProgressOptions, task: (p: vscode.Progress<ProgressStep>, t: vscode.CancellationToken) => Promise<unknown>) => {
    seen.options = options;
    return task(progress, source.token);
  }) as never;
  return seen;
}

describe('progress', () => {
  beforeEach(resetMock);

  it('turns absolute percentages into increments and ignores backwards steps', () => {
    const progress = new RecordingProgress<ProgressStep>();
    const feeder = new ProgressFeeder(progress);
    feeder.handle({ kind: 'begin', title: 'Deploying', percentage: 0 });
    feeder.handle({ kind: 'report', message: 'Uploading 1/4', percentage: 10 });
    feeder.handle({ kind: 'report', percentage: 35 });
    feeder.handle({ kind: 'report', message: 'late', percentage: 30 });
    feeder.handle({ kind: 'report', percentage: 140 });
    feeder.handle({ kind: 'end', message: 'Done' });
    assert.deepEqual(progress.steps, [
      { message: 'Deploying' },
      { message: 'Uploading 1/4', increment: 10 },
      { increment: 25 },
      { message: 'late' },
      { increment: 65 },
      { message: 'Done' },
    ]);
  });

  it('runs the command in a cancellable notification fed by $/progress on its own token', async () => {
    const progress = new RecordingProgress<ProgressStep>();
    const source = new vscode.CancellationTokenSource();
    const seen = scriptWithProgress(progress, source);
    const transport = new ScriptedTransport(async (emit) => {
      emit({ kind: 'begin', title: 'Deploy', percentage: 0 });
      emit({ kind: 'report', message: 'Restarting', percentage: 50 });
      emit({ kind: 'end' });
      return { endpointUrl: 'https://app.example' };
    });
    const outcome = await runServerCommand(transport, 'AI Toolkit: Deploy', SERVER_COMMANDS.deploy, { workspaceFolder: 'file:///w' }, () => 'T1');
    assert.deepEqual(outcome, { cancelled: false, result: { endpointUrl: 'https://app.example' } });
    assert.equal(seen.options?.location, vscode.ProgressLocation.Notification);
    assert.equal(seen.options?.cancellable, true);
    assert.equal(transport.calls[0]?.command, SERVER_COMMANDS.deploy);
    assert.deepEqual(transport.calls[0]?.args, [{ workspaceFolder: 'file:///w', workDoneToken: 'aitk-T1' }]);
    assert.deepEqual(progress.steps, [{ message: 'Deploy' }, { message: 'Restarting', increment: 50 }]);
    assert.equal(transport.handlers.size, 0, 'the progress handler is disposed after the command');
  });

  it('Cancel cancels the request and sends workDoneProgress/cancel for the token', async () => {
    const progress = new RecordingProgress<ProgressStep>();
    const source = new vscode.CancellationTokenSource();
    scriptWithProgress(progress, source);
    const transport = new ScriptedTransport(
      (emit, cancel) =>
        new Promise((_resolve, reject) => {
          emit({ kind: 'begin', title: 'Deploy' });
          cancel.onCancellationRequested(() => reject(new Error('Request cancelled')));
          source.cancel();
        }),
    );
    const outcome = await runServerCommand(transport, 'Deploy', SERVER_COMMANDS.deploy, {}, () => 'T2');
    assert.deepEqual(outcome, { cancelled: true });
    assert.equal(transport.calls[0]?.cancel.isCancellationRequested, true);
    assert.deepEqual(transport.cancelled, ['aitk-T2']);
  });

  it('passes a server error through when not cancelled', async () => {
    scriptWithProgress(new RecordingProgress<ProgressStep>(), new vscode.CancellationTokenSource());
    const transport = new ScriptedTransport(() => Promise.reject(new Error('infra/inference.config.json is missing ACA_APP_NAME')));
    await assert.rejects(runServerCommand(transport, 'Deploy', 'x', {}), /missing ACA_APP_NAME/);
  });
});
