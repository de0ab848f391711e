// Shared by the unit tests: access to the mock's reset and a recording Progress.
import * as vscode from 'vscode';

export function resetMock(): void {
  (vscode as unknown as { __reset(): void }).__reset();
}

export function mockWindow(): Record<string, (...args: never[]) => unknown> {
  return vscode.window as unknown as Record<string, (...args: never[]) => unknown>;
}

export class RecordingProgress<T> implements vscode.Progress<T> {
  readonly steps: T[] = [];
  report(value: T): void {
    this.steps.push(value);
  }
}
