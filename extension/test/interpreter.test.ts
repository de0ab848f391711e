import * as assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverInterpreter, expandSettingPath, findOnPath, type Interpreter, type InterpreterSources, NoInterpreterError, probePython } from '../src/interpreter';

/** Interpreters by path and what running them reports (a version, or why they did not run). */
function probeTable(table: Record<string, string>): (p: string) => Promise<Interpreter | string> {
  return async (p) => {
    const v = table[p];
    if (v === undefined) return 'could not be run (spawn ENOENT)';
    if (!/^\d/.test(v)) return v;
    return { path: p, source: 'path', implementation: 'cpython', version: v, minor: v.split('.').slice(0, 2).join('.') };
  };
}

function sources(over: Partial<InterpreterSources>, calls: string[] = []): InterpreterSources {
  const probe = over.probe ?? probeTable({});
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
    probe: async (p) => {
      calls.push(`probe:${p}`);
      return probe(p);
    },
  };
}

const onPath =
  (table: Record<string, string>) =>
  async (name: string): Promise<string | undefined> =>
    table[name];

describe('interpreter discovery', () => {
  it('prefers the setting and asks nothing else', async () => {
    const calls: string[] = [];
    const found = await discoverInterpreter(sources({ setting: () => '/opt/py/bin/python', pythonExtension: async () => '/ext/python', probe: probeTable({ '/opt/py/bin/python': '3.13.0' }) }, calls));
    assert.deepEqual(found, { path: '/opt/py/bin/python', source: 'setting', implementation: 'cpython', version: '3.13.0', minor: '3.13' });
    assert.deepEqual(calls, ['setting', 'probe:/opt/py/bin/python']);
  });

  it('a setting that does not fit is reported, not replaced by another interpreter', async () => {
    const calls: string[] = [];
    const probe = probeTable({ '/usr/bin/python3': '3.12.1' });
    await assert.rejects(discoverInterpreter(sources({ setting: () => '/nonexistent/python3', onPath: onPath({ python3: '/usr/bin/python3' }), probe }, calls)), (err: Error) => {
      assert.ok(err instanceof NoInterpreterError);
      assert.equal(
        err.message,
        'The inference server needs Python 3.11 or newer. Found: "/nonexistent/python3" (from the aitk.inference.python setting) could not be run (spawn ENOENT). Set "aitk.inference.python" to a Python 3.11 or newer interpreter.',
      );
      return true;
    });
    assert.deepEqual(calls, ['setting', 'probe:/nonexistent/python3']);
  });

  it('then the Python extension if it is 3.11+, then python3 before python on PATH if 3.11+', async () => {
    const probe = probeTable({ '/ext/python': '3.11.4', '/old/python': '3.10.13', '/usr/bin/python3': '3.9.18', '/usr/bin/python': '3.12.1' });
    assert.equal((await discoverInterpreter(sources({ setting: () => '  ', pythonExtension: async () => '/ext/python', probe }))).source, 'python-extension');
    const calls: string[] = [];
    const found = await discoverInterpreter(sources({ pythonExtension: async () => '/old/python', onPath: onPath({ python3: '/usr/bin/python3', python: '/usr/bin/python' }), probe }, calls));
    assert.deepEqual(found, { path: '/usr/bin/python', source: 'path', implementation: 'cpython', version: '3.12.1', minor: '3.12' });
    assert.deepEqual(calls, ['setting', 'python-extension', 'probe:/old/python', 'path:python3', 'probe:/usr/bin/python3', 'path:python', 'probe:/usr/bin/python']);
  });

  it('only older Pythons: one message naming each (path, where from, version) and what to do', async () => {
    const probe = probeTable({ '/ext/python': '3.10.13', '/shim/python3': '3.9.16' });
    const run = discoverInterpreter(sources({ pythonExtension: async () => '/ext/python', onPath: onPath({ python3: '/shim/python3', python: '/shim/python3' }), probe }));
    await assert.rejects(run, (err: Error) => {
      assert.ok(err instanceof NoInterpreterError);
      assert.equal(
        err.message,
        'The inference server needs Python 3.11 or newer. Found: "/ext/python" (from the Python extension) is 3.10.13; "/shim/python3" (on PATH) is 3.9.16. Install Python 3.11 or newer, or set "aitk.inference.python" to its path.',
      );
      return true;
    });
  });

  it('a failing Python extension falls through to PATH', async () => {
    const found = await discoverInterpreter(
      sources({ pythonExtension: () => Promise.reject(new Error('activation failed')), onPath: onPath({ python3: '/usr/bin/python3' }), probe: probeTable({ '/usr/bin/python3': '3.11.2' }) }),
    );
    assert.equal(found.path, '/usr/bin/python3');
  });

  it('nothing at all: says so', async () => {
    await assert.rejects(discoverInterpreter(sources({})), (err: Error) => {
      assert.equal(err.message, 'No Python found: the inference server needs Python 3.11 or newer. Install it, or set "aitk.inference.python" to its path.');
      return true;
    });
  });

  it('probePython reads the implementation and version, and says why one did not run', async () => {
    const found = await probePython(process.execPath, async () => ({ code: 0, stdout: 'pypy 3.9.16\n', stderr: '', timedOut: false }));
    assert.deepEqual(found, { path: process.execPath, source: 'path', implementation: 'pypy', version: '3.9.16', minor: '3.9' });
    assert.equal(await probePython('/x', async () => ({ code: null, stdout: '', stderr: '', timedOut: true })), 'did not answer within 20 s');
    assert.equal(await probePython('/x', async () => ({ code: 1, stdout: '', stderr: 'Traceback\nSyntaxError: bad\n', timedOut: false })), 'did not run (exit code 1: Traceback SyntaxError: bad)');
    assert.match(await probePython('/nonexistent/python3').then(String), /^could not be run \(spawn \/nonexistent\/python3 ENOENT\)$/);
  });

  it('probePython runs a real interpreter', async () => {
    const found = await probePython('python3');
    assert.ok(typeof found !== 'string' && found.implementation === 'cpython' && /^3\.\d+\.\d+$/.test(found.version), JSON.stringify(found));
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
