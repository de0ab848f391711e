import * as assert from 'node:assert/strict';
import type * as vscode from 'vscode';
import { redactingChannel, redactSecrets as redactTrace } from '../src/redact';

// The shape vscode-languageclient traces a response it sends (verbose: the result as indented JSON).
const TRACED_ANSWER = `[Trace - 10:00:00 PM] Sending response 'aitk/getToken - (3)'. Processing request took 4ms
Result: {
    "token": "eyJ0eXAiOiJKV1QifQ.eyJleHAiOjE5OTk5OTk5OTl9.c2lnbmF0dXJl",
    "expiresOn": 1999999999
}`;

describe('trace redaction', () => {
  it('a traced aitk/getToken answer never shows the token', () => {
    const out = redactTrace(TRACED_ANSWER);
    assert.equal(
      out,
      `[Trace - 10:00:00 PM] Sending response 'aitk/getToken - (3)'. Processing request took 4ms
Result: {
    "token": "***",
    "expiresOn": 1999999999
}`,
    );
  });

  it('hides opaque tokens under token keys and JWTs anywhere; keeps the rest', () => {
    assert.equal(redactTrace('{"accessToken":"opaque-secret","expires_on":5}'), '{"accessToken":"***","expires_on":5}');
    assert.equal(redactTrace('Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.sig'), 'Authorization: Bearer ***');
    assert.equal(redactTrace('{"workDoneToken": "aitk-1234"}'), '{"workDoneToken": "aitk-1234"}');
  });

  it('the channel passes every write through the redaction', () => {
    const written: string[] = [];
    const record = (s: string): void => {
      written.push(s);
    };
    const channel = { name: 'AI Toolkit Trace', trace: record, info: record, append: record, appendLine: record, replace: record } as unknown as vscode.LogOutputChannel;
    const wrapped = redactingChannel(channel);
    wrapped.trace(TRACED_ANSWER);
    wrapped.appendLine('{"token": "x"}');
    assert.equal(wrapped.name, 'AI Toolkit Trace');
    assert.ok(written.every((w) => !w.includes('eyJ0eXAi') && !w.includes('"x"')), written.join('\n'));
    assert.equal(written.length, 2);
  });
});
