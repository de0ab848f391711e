import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { CREATE_NEW, input, pick, toQuickPickItems } from '../src/pickers';
import { mockWindow, resetMock } from './helpers';

const params = {
  title: 'Select a subscription',
  placeHolder: 'Subscription for the inference resources',
  items: [
    { label: 'Contoso Dev', description: '1111', value: 'sub-1' },
    { label: 'Contoso Prod', value: 'sub-2' },
  ],
};

describe('pickers', () => {
  beforeEach(resetMock);

  it('maps items to QuickPick items, keeping value and description', () => {
    const items = toQuickPickItems(params);
    assert.deepEqual(items, [
      { label: 'Contoso Dev', description: '1111', value: 'sub-1' },
      { label: 'Contoso Prod', value: 'sub-2' },
    ]);
  });

  it('puts the create-new entry first, answering $createNew', async () => {
    const items = toQuickPickItems({ ...params, createNewLabel: 'Create new resource group' });
    assert.equal(items.length, 3);
    assert.equal(items[0]?.value, CREATE_NEW);
    assert.match(items[0]?.label ?? '', /Create new resource group/);
    mockWindow().showQuickPick = ((shown: vscode.QuickPickItem[]) => Promise.resolve(shown[0])) as never;
    assert.equal(await pick({ ...params, createNewLabel: 'Create new resource group' }), '$createNew');
  });

  it('answers the chosen value and passes title and placeholder', async () => {
    let seen: vscode.QuickPickOptions | undefined;
    mockWindow().showQuickPick = ((shown: { value: string }[], options: vscode.QuickPickOptions) => {
      seen = options;
      return Promise.resolve(shown.find((i) => i.value === 'sub-2'));
    }) as never;
    assert.equal(await pick(params), 'sub-2');
    assert.equal(seen?.title, 'Select a subscription');
    assert.equal(seen?.placeHolder, 'Subscription for the inference resources');
    assert.equal(seen?.ignoreFocusOut, true);
  });

  it('answers null when the picker is dismissed', async () => {
    mockWindow().showQuickPick = (() => Promise.resolve(undefined)) as never;
    assert.equal(await pick(params), null);
  });

  it('rejects a malformed request with a clear message', async () => {
    await assert.rejects(pick({ title: 'x' }), /aitk\/pick needs/);
    await assert.rejects(pick({ title: 'x', items: [{ label: 'no value' }] }), /item 0 needs a string label and value/);
  });

  it('input answers the text, or null when dismissed', async () => {
    let seen: vscode.InputBoxOptions | undefined;
    mockWindow().showInputBox = ((options: vscode.InputBoxOptions) => {
      seen = options;
      return Promise.resolve('rg-inference');
    }) as never;
    assert.equal(await input({ title: 'New resource group', value: 'rg-default' }), 'rg-inference');
    assert.equal(seen?.value, 'rg-default');
    mockWindow().showInputBox = (() => Promise.resolve(undefined)) as never;
    assert.equal(await input({ title: 'New resource group' }), null);
    await assert.rejects(input({}), /aitk\/input needs/);
  });
});

describe('pickers cancelled by the server', () => {
  beforeEach(resetMock);

  it('hands the request token to the QuickPick (VS Code closes it on cancel) and answers null', async () => {
    const source = new vscode.CancellationTokenSource();
    let given: vscode.CancellationToken | undefined;
    mockWindow().showQuickPick = ((shown: { value: string }[], _options: unknown, token: vscode.CancellationToken) => {
      given = token;
      // The server cancels while the picker is open: VS Code hides it and resolves undefined.
      return new Promise((resolve) => token.onCancellationRequested(() => resolve(undefined)));
    }) as never;
    const answer = pick(params, source.token);
    source.cancel();
    assert.equal(await answer, null);
    assert.equal(given, source.token);
  });

  it('answers null when the user picked just as the server cancelled', async () => {
    const source = new vscode.CancellationTokenSource();
    mockWindow().showQuickPick = ((shown: { value: string }[]) => {
      source.cancel();
      return Promise.resolve(shown[0]);
    }) as never;
    assert.equal(await pick(params, source.token), null);
  });

  it('hands the token to the input box too', async () => {
    const source = new vscode.CancellationTokenSource();
    let given: vscode.CancellationToken | undefined;
    mockWindow().showInputBox = ((_options: unknown, token: vscode.CancellationToken) => {
      given = token;
      return new Promise((resolve) => token.onCancellationRequested(() => resolve(undefined)));
    }) as never;
    const answer = input({ title: 'New resource group' }, source.token);
    source.cancel();
    assert.equal(await answer, null);
    assert.equal(given, source.token);
  });
});
