import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Exec } from '../src/exec';
import type { Interpreter } from '../src/interpreter';
import { readManifest, serverLaunch, ServerStartError } from '../src/serverEnv';

function extensionRoot(manifest?: object): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'aitk-ext-'));
  writeFileSync(path.join(root, 'pyproject.toml'), '[project]\nname = "aitk-inference"\nversion = "0.1.0"\n');
  mkdirSync(path.join(root, 'server', 'aitk_inference'), { recursive: true });
  if (manifest) {
    mkdirSync(path.join(root, 'bundled', 'libs'), { recursive: true });
    writeFileSync(path.join(root, 'bundled', 'libs', 'manifest.json'), JSON.stringify(manifest));
  }
  return root;
}

const LINUX = { target: 'linux-x64', pythons: ['3.11', '3.12', '3.13'], fingerprint: 'x' };

function interpreter(version: string, implementation = 'cpython'): Interpreter {
  return { path: '/usr/bin/python3', source: 'path', implementation, version, minor: version.split('.').slice(0, 2).join('.') };
}

/** An Exec that says which aitk-inference version the interpreter has, recording each call. */
function hasServer(version: string, calls: string[][] = []): Exec {
  return async (command, args) => {
    calls.push([command, ...args]);
    return { code: 0, stdout: `${version}\n`, stderr: '', timedOut: false };
  };
}

describe('server launch', () => {
  it('runs launch.py isolated with the bundled libraries, asking the interpreter nothing', async () => {
    const root = extensionRoot(LINUX);
    const calls: string[][] = [];
    const launch = await serverLaunch(root, interpreter('3.12.1'), hasServer('', calls));
    assert.deepEqual(launch, {
      command: '/usr/bin/python3',
      args: ['-I', path.join(root, 'server', 'launch.py'), 'serve'],
      libraries: 'the libraries bundled for linux-x64, CPython 3.12',
    });
    assert.deepEqual(calls, [], 'no pip, no venv, no probe');
  });

  it('a Python the VSIX has no libraries for gets a plain message and the settings button', async () => {
    const root = extensionRoot(LINUX);
    await assert.rejects(serverLaunch(root, interpreter('3.14.0'), hasServer('')), (err: Error) => {
      assert.ok(err instanceof ServerStartError && err.openSettings);
      assert.equal(
        err.message,
        'This build of the extension (linux-x64) carries the server\'s libraries for CPython 3.11, 3.12, 3.13, and "/usr/bin/python3" (on PATH, cpython 3.14.0) is not one of them. Set "aitk.inference.python" to one of those.',
      );
      return true;
    });
    // PyPy cannot load CPython extension modules, whatever its language version.
    await assert.rejects(serverLaunch(root, interpreter('3.11.9', 'pypy'), hasServer('')), /"\/usr\/bin\/python3" \(on PATH, pypy 3\.11\.9\) is not one of them/);
  });

  it('without bundled libraries (a development checkout) uses an interpreter that has this server version', async () => {
    const root = extensionRoot();
    assert.deepEqual(await serverLaunch(root, interpreter('3.11.7'), hasServer('0.1.0')), {
      command: '/usr/bin/python3',
      args: ['-m', 'aitk_inference', 'serve'],
      libraries: 'aitk-inference 0.1.0 installed in /usr/bin/python3',
    });
    await assert.rejects(serverLaunch(root, interpreter('3.11.7'), hasServer('0.0.9')), (err: Error) => {
      assert.equal(
        err.message,
        'This copy of the extension has no bundled Python libraries (it is not a platform-specific VSIX), and "/usr/bin/python3" (on PATH, cpython 3.11.7) does not have aitk-inference 0.1.0. Install the extension\'s VSIX for your platform, or set "aitk.inference.python" to an interpreter that has aitk-inference 0.1.0.',
      );
      return true;
    });
  });

  it('reads the manifest the packaging script writes', async () => {
    assert.deepEqual(await readManifest(extensionRoot(LINUX)), { target: 'linux-x64', pythons: ['3.11', '3.12', '3.13'] });
    assert.equal(await readManifest(extensionRoot()), undefined);
  });
});
