import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type * as vscode from 'vscode';
import { createMessageConnection, RequestType, StreamMessageReader, StreamMessageWriter, Trace } from 'vscode-jsonrpc/node';
import { redactingChannel, redactSecrets, rememberSecret } from '../src/redact';

const KEY = 'k3y-' + 'Zx9_aB-cD1eF2gH3iJ4kL5mN6oP7qR8sT9uV0wX1y';

/** The parts of an OutputChannel the client and the extension write through. */
class RecordingChannel {
  lines: string[] = [];
  append(text: string): void {
    this.lines.push(text);
  }
  appendLine(text: string): void {
    this.lines.push(text);
  }
  info(text: string): void {
    this.lines.push(text);
  }
  error(text: string | Error): void {
    this.lines.push(text instanceof Error ? text.message : text);
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

describe('redaction', () => {
  it('masks the api key field, bearer and api-key headers and JWTs, nothing else', () => {
    assert.equal(redactSecrets(`{"apiKey": "${KEY}", "appName": "app1"}`), '{"apiKey": "***", "appName": "app1"}');
    assert.equal(redactSecrets(`Authorization: Bearer ${KEY}`), 'Authorization: Bearer ***');
    assert.equal(redactSecrets(`api-key: ${KEY}`), 'api-key: ***');
    assert.equal(redactSecrets('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig'), 'token ***');
    assert.equal(redactSecrets('{"token": "abc.def"}'), '{"token": "***"}');
    assert.equal(redactSecrets('Deployment done. https://app.example/v1'), 'Deployment done. https://app.example/v1');
  });

  it('masks a remembered key wherever it appears', () => {
    const stored = 'stored-key-' + 'QwErTy0123456789';
    assert.equal(redactSecrets(`copied ${stored}!`), `copied ${stored}!`);
    rememberSecret(stored);
    assert.equal(redactSecrets(`copied ${stored}!`), 'copied ***!');
    rememberSecret('short'); // too short to be a secret: ignored
    assert.equal(redactSecrets('short'), 'short');
  });

  it('keeps the key out of a verbose JSON-RPC trace of the api-key command', async () => {
    // A real vscode-jsonrpc connection pair, traced as the language client traces it.
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createMessageConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
    const client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    const executeCommand = new RequestType<unknown, unknown, void>('workspace/executeCommand');
    server.onRequest(executeCommand, () => ({ appName: 'app1', secretName: 'inference-api-key', apiKey: KEY }));
    server.listen();
    client.listen();
    const plain = new RecordingChannel();
    const redacted = new RecordingChannel();
    const channel = redactingChannel(redacted as unknown as vscode.OutputChannel);
    await client.trace(Trace.Verbose, { log: (message: string, data?: string) => {
      plain.appendLine(data ? `${message}\n${data}` : message);
      channel.appendLine(data ? `${message}\n${data}` : message);
    } });
    const result = (await client.sendRequest(executeCommand, { command: 'aitk.inference.server.api-key' })) as { apiKey: string };
    assert.equal(result.apiKey, KEY); // the extension still gets it
    assert.match(plain.text, new RegExp(KEY)); // the trace does print results...
    assert.match(redacted.text, /Result: \{[\s\S]*"apiKey": "\*\*\*"/); // ...and the channel masks them
    assert.doesNotMatch(redacted.text, new RegExp(KEY));
    client.dispose();
    server.dispose();
  });

  it('redacts every text method of a log channel, errors included', () => {
    const inner = new RecordingChannel();
    const channel = redactingChannel(inner as unknown as vscode.LogOutputChannel);
    channel.info(`{"apiKey": "${KEY}"}`);
    channel.error(new Error(`failed with api-key: ${KEY}`));
    channel.append(`Bearer ${KEY}`);
    assert.deepEqual(inner.lines, ['{"apiKey": "***"}', 'failed with api-key: ***', 'Bearer ***']);
  });
});
