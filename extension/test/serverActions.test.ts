import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { type ActionHost, ARM_SCOPES, createProjectFiles, openSettings, signIn } from '../src/serverActions';
import { resetMock } from './helpers';

interface Recorded {
  commands: unknown[][];
  lines: string[];
  scopes: string[][];
}

function host(session: { account: { label: string } } | undefined | Error): { host: ActionHost; seen: Recorded } {
  const seen: Recorded = { commands: [], lines: [], scopes: [] };
  const output = {
    info: (line: string) => seen.lines.push(`info: ${line}`),
    warn: (line: string) => seen.lines.push(`warn: ${line}`),
  } as unknown as vscode.LogOutputChannel;
  return {
    seen,
    host: {
      output,
      executeCommand: (...args: unknown[]) => {
        seen.commands.push(args);
        return Promise.resolve(undefined);
      },
      getSession: (scopes: string[]) => {
        seen.scopes.push(scopes);
        return session instanceof Error ? Promise.reject(session) : Promise.resolve(session);
      },
    },
  };
}

describe('server actions (the buttons of error notifications)', () => {
  beforeEach(resetMock);

  it('Create inference project files runs the scaffold command for the folder the error named', async () => {
    const project = vscode.Uri.file('/work/project');
    (vscode.workspace as Record<string, unknown>).workspaceFolders = [{ uri: vscode.Uri.file('/work/other') }, { uri: project }];
    const { host: h, seen } = host(undefined);
    await createProjectFiles(h, { workspaceFolder: 'file:///work/project' });
    assert.deepEqual(seen.commands, [['aitk.inference.createProjectFiles', project]]);
  });

  it('Create inference project files without a folder lets the command ask', async () => {
    const { host: h, seen } = host(undefined);
    await createProjectFiles(h, { workspaceFolder: null });
    assert.deepEqual(seen.commands, [['aitk.inference.createProjectFiles', undefined]]);
  });

  it('Sign in asks VS Code for the Microsoft account with the ARM scope and says what to do next', async () => {
    const { host: h, seen } = host({ account: { label: 'ana@contoso.com' } });
    await signIn(h);
    assert.deepEqual(seen.scopes, [ARM_SCOPES]);
    assert.deepEqual(seen.lines, ['info: Signed in to Azure as ana@contoso.com. Run the command again.']);
  });

  it('Sign in dismissed again is logged, not thrown', async () => {
    const { host: h, seen } = host(new Error('User did not consent to login.'));
    await signIn(h);
    assert.deepEqual(seen.lines, ['warn: Sign-in did not complete: User did not consent to login.']);
  });

  it('Open Settings opens the Settings editor on the extension settings', async () => {
    const { host: h, seen } = host(undefined);
    await openSettings(h, { query: 'aitk.inference' });
    await openSettings(h, {});
    assert.deepEqual(seen.commands, [
      ['workbench.action.openSettings', 'aitk.inference'],
      ['workbench.action.openSettings', 'aitk.inference'],
    ]);
  });
});
