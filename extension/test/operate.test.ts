import * as assert from 'node:assert/strict';
import { logLines, TEARDOWN_EXTRAS, teardownChoice } from '../src/operate';

describe('operate', () => {
  it('takes the string lines of an aitk/logLines notification', () => {
    assert.deepEqual(logLines({ lines: ['a', 2, 'b'] }), ['a', 'b']);
    assert.deepEqual(logLines({ lines: 'a' }), []);
    assert.deepEqual(logLines(undefined), []);
  });

  it('deletes the workspace only with its environment', () => {
    assert.deepEqual(teardownChoice([]), { environment: false, logAnalytics: false });
    assert.deepEqual(teardownChoice([TEARDOWN_EXTRAS.environment]), { environment: true, logAnalytics: false });
    assert.deepEqual(teardownChoice([TEARDOWN_EXTRAS.logAnalytics]), { environment: true, logAnalytics: true });
  });
});
