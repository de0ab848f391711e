// Server→client pickers: `aitk/pick` and `aitk/input` answered with QuickPick / InputBox.
import * as vscode from 'vscode';

/** What `aitk/pick` answers when the user chose the "create new" entry. */
export const CREATE_NEW = '$createNew';

export interface PickItem {
  label: string;
  description?: string;
  value: string;
}

export interface PickParams {
  title: string;
  placeHolder?: string;
  items: PickItem[];
  createNewLabel?: string;
}

export interface InputParams {
  title: string;
  placeHolder?: string;
  value?: string;
}

export interface ValueQuickPickItem extends vscode.QuickPickItem {
  value: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the wire shape so a malformed request fails with a clear JSON-RPC error, not a blank picker. */
export function parsePickParams(raw: unknown): PickParams {
  if (!isObject(raw) || typeof raw.title !== 'string' || !Array.isArray(raw.items)) {
    throw new Error('aitk/pick needs {title: string, items: [{label, value}]}.');
  }
  const items = raw.items.map((item: unknown, i: number): PickItem => {
    if (!isObject(item) || typeof item.label !== 'string' || typeof item.value !== 'string') {
      throw new Error(`aitk/pick item ${i} needs a string label and value.`);
    }
    return typeof item.description === 'string'
      ? { label: item.label, description: item.description, value: item.value }
      : { label: item.label, value: item.value };
  });
  const params: PickParams = { title: raw.title, items };
  if (typeof raw.placeHolder === 'string') params.placeHolder = raw.placeHolder;
  if (typeof raw.createNewLabel === 'string' && raw.createNewLabel) params.createNewLabel = raw.createNewLabel;
  return params;
}

export function parseInputParams(raw: unknown): InputParams {
  if (!isObject(raw) || typeof raw.title !== 'string') {
    throw new Error('aitk/input needs {title: string}.');
  }
  const params: InputParams = { title: raw.title };
  if (typeof raw.placeHolder === 'string') params.placeHolder = raw.placeHolder;
  if (typeof raw.value === 'string') params.value = raw.value;
  return params;
}

/** The "create new" entry goes first, so it is one keystroke away even in a long list. */
export function toQuickPickItems(params: PickParams): ValueQuickPickItem[] {
  const items: ValueQuickPickItem[] = params.items.map((item) => {
    const qp: ValueQuickPickItem = { label: item.label, value: item.value };
    if (item.description !== undefined) qp.description = item.description;
    return qp;
  });
  if (params.createNewLabel) {
    items.unshift({ label: params.createNewLabel, value: CREATE_NEW, alwaysShow: true });
  }
  return items;
}

/** Shows the picker; answers the chosen value, CREATE_NEW, or null when dismissed or when the
 * server cancels the request (``token``: VS Code then closes the picker). */
export async function pick(raw: unknown, token?: vscode.CancellationToken): Promise<string | null> {
  const params = parsePickParams(raw);
  const options: vscode.QuickPickOptions = { title: params.title, ignoreFocusOut: true, matchOnDescription: true };
  if (params.placeHolder !== undefined) options.placeHolder = params.placeHolder;
  const chosen = await vscode.window.showQuickPick(toQuickPickItems(params), options, token);
  return chosen && !token?.isCancellationRequested ? chosen.value : null;
}

/** Shows an input box; answers the text, or null when dismissed or cancelled by the server. */
export async function input(raw: unknown, token?: vscode.CancellationToken): Promise<string | null> {
  const params = parseInputParams(raw);
  const options: vscode.InputBoxOptions = { title: params.title, ignoreFocusOut: true };
  if (params.placeHolder !== undefined) options.placeHolder = params.placeHolder;
  if (params.value !== undefined) options.value = params.value;
  const text = await vscode.window.showInputBox(options, token);
  return token?.isCancellationRequested ? null : (text ?? null);
}
