import * as assert from 'node:assert/strict';
import { RestartPolicy, RunningCommands } from '../src/lifecycle';

describe('restarts', () => {
  it('restarts up to the limit within the window, then gives up; old crashes age out', () => {
    let now = 0;
    const policy = new RestartPolicy(3, 60_000, () => now);
    assert.deepEqual([policy.shouldRestart(), policy.shouldRestart(), policy.shouldRestart(), policy.shouldRestart()], [true, true, true, false]);
    now = 120_000;
    assert.equal(policy.shouldRestart(), true);
  });

  it('a restart asked for while nothing runs happens at once', () => {
    const running = new RunningCommands();
    let restarts = 0;
    assert.deepEqual(
      running.whenIdle(() => restarts++),
      [],
    );
    assert.equal(restarts, 1);
  });

  it('a restart asked for during a deploy waits for it to end, once, even when asked twice', async () => {
    const running = new RunningCommands();
    const events: string[] = [];
    let finish = (): void => undefined;
    const deploy = running.track('deploy', () => new Promise<string>((resolve) => (finish = () => resolve('deployed'))));
    assert.deepEqual(
      running.whenIdle(() => events.push('restart')),
      ['deploy'],
    );
    running.whenIdle(() => events.push('restart'));
    assert.equal(events.length, 0, 'nothing restarts while the deploy runs');
    finish();
    events.push(await deploy);
    assert.deepEqual(events, ['restart', 'deployed']);
  });

  it('a failed command also lets the waiting restart go', async () => {
    const running = new RunningCommands();
    let restarted = false;
    const failing = running.track('status', () => Promise.reject(new Error('boom')));
    running.whenIdle(() => (restarted = true));
    await assert.rejects(failing, /boom/);
    assert.equal(restarted, true);
  });
});
