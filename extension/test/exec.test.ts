import * as assert from 'node:assert/strict';
import { execProcess } from '../src/exec';

describe('execProcess', () => {
  it('collects the exit code, stdout and stderr', async () => {
    const out = await execProcess(process.execPath, ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exit(3)'], { timeoutMs: 10_000 });
    assert.deepEqual(out, { code: 3, stdout: 'out', stderr: 'err', timedOut: false });
  });

  it('stops a program that runs past its time limit', async () => {
    const started = Date.now();
    const out = await execProcess(process.execPath, ['-e', 'setTimeout(() => undefined, 60_000)'], { timeoutMs: 300 });
    assert.equal(out.timedOut, true);
    assert.ok(Date.now() - started < 10_000, 'did not wait for the program');
  });

  it('runs a command line through the shell with the given environment', async () => {
    const out = await execProcess('echo "$AITK_X"', [], { shell: true, env: { ...process.env, AITK_X: 'hello' }, timeoutMs: 10_000 });
    assert.equal(out.stdout.trim(), 'hello');
  });

  it('rejects when the program does not exist', async () => {
    await assert.rejects(execProcess('/nonexistent/program', [], { timeoutMs: 10_000 }), /ENOENT/);
  });
});
