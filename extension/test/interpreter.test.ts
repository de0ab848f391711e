import * as assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverInterpreter, expandSettingPath, findOnPath, type InterpreterSources } from '../src/interpreter';

function sources(over: Partial<InterpreterSources>, calls: string[] = []): InterpreterSources {
  return {
    setting: () => {
      calls.push('setting');
      return over.setting?.();
    },
    pythonExtension: async () => {
      calls.push('python-extension');
      return over.pythonExtension?.();
    },
    onPath: async (name) => {
      calls.push(`path:${name}`);
      return over.onPath?.(name);
    },
  };
}

describe('interpreter discovery', () => {
  it('prefers the setting and asks nothing else', async () => {
    const calls: string[] = [];
    const found = await discoverInterpreter(sources({ setting: () => '/opt/py/bin/python', pythonExtension: async () => '/ext/python' }, calls));
    assert.deepEqual(found, { path: '/opt/py/bin/python', source: 'setting' });
    assert.deepEqual(calls, ['setting']);
  });

  it('then the Python extension, then python3 before python on PATH', async () => {
    assert.deepEqual(await discoverInterpreter(sources({ setting: () => '  ', pythonExtension: async () => '/ext/python' })), {
      path: '/ext/python',
      source: 'python-extension',
    });
    const calls: string[] = [];
    const found = await discoverInterpreter(sources({ onPath: async (n) => (n === 'python' ? '/usr/bin/python' : undefined) }, calls));
    assert.deepEqual(found, { path: '/usr/bin/python', source: 'path' });
    assert.deepEqual(calls, ['setting', 'python-extension', 'path:python3', 'path:python']);
  });

  it('a failing Python extension falls through to PATH', async () => {
    const found = await discoverInterpreter(
      sources({
        pythonExtension: () => Promise.reject(new Error('activation failed')),
        onPath: async (n) => (n === 'python3' ? '/usr/bin/python3' : undefined),
      }),
    );
    assert.deepEqual(found, { path: '/usr/bin/python3', source: 'path' });
  });

  it('finds nothing when nothing is there', async () => {
    assert.equal(await discoverInterpreter(sources({})), undefined);
  });

  it('findOnPath returns the first executable file, skipping non-executables and folders', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'aitk-path-'));
    const [a, b, c] = ['a', 'b', 'c'].map((d) => path.join(root, d)) as [string, string, string];
    for (const d of [a, b, c]) mkdirSync(d);
    writeFileSync(path.join(a, 'python3'), '');
    chmodSync(path.join(a, 'python3'), 0o644);
    mkdirSync(path.join(b, 'python3'));
    writeFileSync(path.join(c, 'python3'), '#!/bin/sh\n');
    chmodSync(path.join(c, 'python3'), 0o755);
    assert.equal(await findOnPath('python3', [a, b, c].join(path.delimiter)), path.join(c, 'python3'));
    assert.equal(await findOnPath('python3', [a, b].join(path.delimiter)), undefined);
  });

  it('expands ~ and ${workspaceFolder} in the setting', () => {
    assert.equal(expandSettingPath('~/py/bin/python', undefined), path.join(os.homedir(), 'py/bin/python'));
    assert.equal(expandSettingPath('${workspaceFolder}/.venv/bin/python', '/w'), '/w/.venv/bin/python');
  });
});
