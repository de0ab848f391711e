import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { authProvider, buildTokenCommand, getToken, jwtExpiry, parseTokenOutput, runTokenCommand } from '../src/token';

const FAKE_AZ = path.resolve(__dirname, '..', '..', 'tests', 'azure_emulator', 'fake_az', 'az');
const SCOPES = ['https://management.azure.com/.default'];

describe('token command', () => {
  it('parses az output, preferring expires_on (epoch seconds)', () => {
    const out = JSON.stringify({ accessToken: 'abc', expiresOn: '2030-01-01 00:00:00.000000', expires_on: 1893456000, tokenType: 'Bearer' });
    assert.deepEqual(parseTokenOutput(out, 'az'), { token: 'abc', expiresOn: 1893456000 });
  });

  it('accepts expires_on as a string and older az with only expiresOn', () => {
    assert.deepEqual(parseTokenOutput('{"accessToken":"t","expires_on":"1893456000"}', 'az'), { token: 't', expiresOn: 1893456000 });
    const local = parseTokenOutput('{"accessToken":"t","expiresOn":"2030-01-01 00:00:00.000000"}', 'az');
    assert.equal(local.expiresOn, Math.floor(new Date(2030, 0, 1).getTime() / 1000));
  });

  it('explains bad output in plain words', () => {
    assert.throws(() => parseTokenOutput('Please run az login', '"az"'), /did not print JSON/);
    assert.throws(() => parseTokenOutput('{"expires_on": 1}', '"az"'), /no "accessToken"/);
    assert.throws(() => parseTokenOutput('{"accessToken": "t"}', '"az"'), /no "expires_on"/);
    assert.throws(() => parseTokenOutput('[1]', '"az"'), /not an object/);
  });

  it('substitutes {scopes} shell-quoted', () => {
    assert.equal(buildTokenCommand('az account get-access-token --scope {scopes}', ['https://x/.default', "a b'c"]), `az account get-access-token --scope https://x/.default 'a b'\\''c'`);
    assert.equal(buildTokenCommand('get-token', SCOPES), 'get-token');
  });

  it('runs a real az-style command (the az stand-in)', async () => {
    const result = await runTokenCommand(`${FAKE_AZ} account get-access-token --output json`, SCOPES);
    assert.match(result.token, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/); // a JWT, as Entra ID issues
    assert.ok(result.expiresOn > Date.now() / 1000, 'expiry is in the future');
  });

  it('reports a failing command with its stderr but not its arguments', async () => {
    await assert.rejects(runTokenCommand(`${FAKE_AZ} login --password hunter2`, SCOPES), (err: Error) => {
      assert.match(err.message, /failed \(exit code 2\): ERROR: this az stand-in only answers/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
    await assert.rejects(runTokenCommand('/nonexistent/token-cmd', SCOPES), /failed \(exit code 127\)/);
  });

  it('a token command that hangs is stopped and named', async () => {
    const run = async () => ({ code: null, stdout: '', stderr: '', timedOut: true });
    await assert.rejects(runTokenCommand('/opt/bin/get-token --secret hunter2', SCOPES, run), (err: Error) => {
      assert.equal(err.message, 'The token command "/opt/bin/get-token" did not finish within 120 s.');
      return true;
    });
  });

  it('getToken uses the command when configured, else the Microsoft session', async () => {
    const run = async (command: string) => ({ code: 0, stdout: JSON.stringify({ accessToken: `from:${command}`, expires_on: 2000000000 }), stderr: '', timedOut: false });
    const viaCommand = await getToken({ scopes: SCOPES }, { tokenCommand: () => 'tok {scopes}', microsoftSession: () => Promise.reject(new Error('not asked')), run });
    assert.deepEqual(viaCommand, { token: 'from:tok https://management.azure.com/.default', expiresOn: 2000000000 });

    const asked: string[][] = [];
    const viaSession = await getToken({ scopes: SCOPES }, { tokenCommand: () => undefined, microsoftSession: async (s) => (asked.push(s), 'opaque-session-token') });
    assert.equal(viaSession.token, 'opaque-session-token');
    assert.deepEqual(asked, [SCOPES]);
    assert.ok(viaSession.expiresOn > Date.now() / 1000);

    await assert.rejects(getToken({ scopes: SCOPES }, { tokenCommand: () => '', microsoftSession: async () => undefined }), /sign in/);
    await assert.rejects(getToken({ scopes: [] }, { tokenCommand: () => 'x', microsoftSession: async () => 'x' }), /needs \{scopes: string\[\]\}/);
  });

  it('reads the expiry from a JWT exp claim', () => {
    const payload = Buffer.from(JSON.stringify({ exp: 1999999999 })).toString('base64url');
    assert.equal(jwtExpiry(`h.${payload}.s`, 60), 1999999999);
    const fallback = jwtExpiry('opaque', 60);
    assert.ok(Math.abs(fallback - (Date.now() / 1000 + 60)) < 5);
  });

  it('asks VS Code for the tenant the server names, and passes it to a token command', async () => {
    const asked: string[][] = [];
    await getToken({ scopes: SCOPES, tenantId: 'c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70' }, { tokenCommand: () => undefined, microsoftSession: async (s) => (asked.push(s), 'opaque') });
    await getToken({ scopes: SCOPES }, { tokenCommand: () => undefined, microsoftSession: async (s) => (asked.push(s), 'opaque') });
    assert.deepEqual(asked, [[...SCOPES, 'VSCODE_TENANT:c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70'], SCOPES]);
    await assert.rejects(
      getToken({ scopes: SCOPES, tenantId: 'x; rm -rf /' }, { tokenCommand: () => 'tok', microsoftSession: async () => 'x' }),
      (err: Error) => err.message === 'aitk/getToken: tenantId must be a tenant ID (a GUID) or domain.',
    );
  });

  it('runs az with the tenant asked for (the az stand-in issues the token in it)', async () => {
    const template = `${FAKE_AZ} account get-access-token --output json --scope {scopes} \${AITK_TOKEN_TENANT:+--tenant $AITK_TOKEN_TENANT}`;
    const claims = (t: string): { tid: string; aud: string } => JSON.parse(Buffer.from(t.split('.')[1] ?? '', 'base64url').toString('utf8')) as { tid: string; aud: string };
    const guest = await runTokenCommand(template, SCOPES, undefined, '5c1d9e2a-7b3f-4c8d-9e0a-00000000e1a1');
    assert.deepEqual([claims(guest.token).tid, claims(guest.token).aud], ['5c1d9e2a-7b3f-4c8d-9e0a-00000000e1a1', 'https://management.azure.com']);
    const home = await runTokenCommand(template, SCOPES);
    assert.equal(claims(home.token).tid, '72f988bf-0000-4000-8000-00000000e1a0');
  });

  it("signs in to national clouds through VS Code's sovereign-cloud provider", () => {
    assert.equal(authProvider(undefined), 'microsoft');
    assert.equal(authProvider('AzureCloud'), 'microsoft');
    assert.equal(authProvider('AzureUSGovernment'), 'microsoft-sovereign-cloud');
    assert.equal(authProvider('AzureChinaCloud'), 'microsoft-sovereign-cloud');
  });
});
