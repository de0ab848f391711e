// A cloned repository cannot redirect the user's Azure token: its .vscode/settings.json names its
// own ARM endpoint, CA bundle and cloud, the folder opens in Restricted Mode, the user runs Status,
// and not one connection reaches the repository's host. The server talks to the endpoint in the
// user's settings (the emulator) instead, and the AI Toolkit output says the workspace values
// were ignored. Real VS Code (code-server with workspace trust on), the packaged extension.
import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import {
  codeServerDirs,
  codeServerEnv,
  type EmulatorInfo,
  eventually,
  FAKE_AZ,
  FatalError,
  findFiles,
  installExtension,
  launchBrowser,
  missingPrerequisite,
  type Proc,
  PYTHON,
  startCodeServer,
  startEmulator,
  tempRoot,
  Workbench,
  writeUserSettings,
} from './harness';

const STATUS = 'AI Toolkit: Show inference status';
const IGNORED =
  'Ignored aitk.inference.cloud, aitk.inference.armEndpoint, aitk.inference.caBundle from the workspace settings: where the Azure token goes and which certificate authorities are trusted are taken from your user settings only.';

/** The repository author's host: counts every TCP connection made to it. */
class Listener {
  connections = 0;
  private readonly server = net.createServer((socket) => {
    this.connections++;
    socket.destroy();
  });
  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }
  stop(): void {
    this.server.close();
  }
}

describe('Restricted Mode: a workspace cannot redirect the Azure token (code-server, workspace trust on)', function () {
  this.timeout(10 * 60_000);
  let root = '';
  let workspace = '';
  let userData = '';
  let emulator: Proc | undefined;
  let info: EmulatorInfo;
  let codeServer: Proc | undefined;
  let context: BrowserContext | undefined;
  let wb: Workbench;
  const attacker = new Listener();
  let failed = false;
  const logText = (): string =>
    findFiles(userData, /^AI Toolkit\.log$/)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');

  before(async () => {
    const missing = missingPrerequisite();
    if (missing) throw new Error(missing);
    root = tempRoot();
    ({ proc: emulator, info } = await startEmulator(path.join(root, 'emulator')));
    const attackerPort = await attacker.start();

    // The cloned project: provisioned before (a config naming a subscription), plus the author's settings.
    workspace = path.join(root, 'cloned-repo');
    mkdirSync(path.join(workspace, 'infra'), { recursive: true });
    mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    writeFileSync(
      path.join(workspace, 'infra', 'inference.config.json'),
      JSON.stringify({ SUBSCRIPTION_ID: '3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c', RESOURCE_GROUP_NAME: 'rg-cloned', STORAGE_ACCOUNT_NAME: 'stcloned', FILE_SHARE_NAME: 'share', ACA_APP_NAME: 'app-cloned', ACA_APP_ENDPOINT: 'app-cloned.example' }, null, 2),
    );
    const attackerCa = path.join(workspace, '.vscode', 'ca.pem');
    writeFileSync(attackerCa, readFileSync('/etc/ssl/certs/ca-certificates.crt')); // trusts public CAs, not the emulator's
    writeFileSync(
      path.join(workspace, '.vscode', 'settings.json'),
      JSON.stringify({ 'aitk.inference.armEndpoint': `https://127.0.0.1:${attackerPort}`, 'aitk.inference.caBundle': attackerCa, 'aitk.inference.cloud': 'AzureChinaCloud' }, null, 2),
    );

    const dirs = codeServerDirs(path.join(root, 'code-server'));
    userData = dirs.userData;
    // Nothing Azure in the environment: the endpoint and CA bundle come from the user's settings.
    const env = codeServerEnv(dirs, { AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential' });
    for (const key of ['AZURE_RESOURCE_MANAGER_ENDPOINT', 'AZURE_CLOUD', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE']) delete env[key];
    installExtension(dirs, env);
    writeUserSettings(dirs, {
      'aitk.inference.python': PYTHON,
      'aitk.inference.tokenCommand': `${FAKE_AZ} account get-access-token --output json --scope {scopes} \${AITK_TOKEN_TENANT:+--tenant $AITK_TOKEN_TENANT}`,
      'aitk.inference.armEndpoint': info.arm,
      'aitk.inference.caBundle': info.ca,
      'security.workspace.trust.enabled': true,
      'security.workspace.trust.startupPrompt': 'never', // the folder opens untrusted, in Restricted Mode
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'telemetry.telemetryLevel': 'off',
    });
    const started = await startCodeServer(dirs, env, { workspaceTrust: true });
    codeServer = started.proc;
    context = await launchBrowser(path.join(root, 'chromium-profile'));
    const page = context.pages()[0] ?? (await context.newPage());
    wb = new Workbench(page);
    await wb.open(`${started.url}/?folder=${encodeURIComponent(workspace)}`);
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    codeServer?.stop();
    emulator?.stop();
    attacker.stop();
    if (root && !failed) rmSync(root, { recursive: true, force: true });
    else if (root) console.log(`e2e state kept in ${root}`);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      failed = true;
      await wb?.screenshot('failed-trust').catch(() => undefined);
      console.log(`code-server log tail:\n${codeServer?.tail() ?? ''}\nemulator log tail:\n${emulator?.tail() ?? ''}\nAI Toolkit log:\n${logText()}`);
    }
  });

  it('runs Status against the user-configured endpoint; no connection reaches the workspace-named host', async () => {
    await wb.page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ state: 'visible', timeout: 60_000 });
    await wb.runCommand(STATUS);
    // The server signed in and asked the emulator (the user's endpoint, trusted with the user's CA
    // bundle) about the app, which it does not have: ARM's answer names the missing resource group.
    const log = await eventually(
      'the status command to reach ARM',
      async () => {
        if (attacker.connections) throw new FatalError(`${attacker.connections} connection(s) reached the host named in .vscode/settings.json:\n${logText()}`);
        const text = logText();
        return /ResourceGroupNotFound|rg-cloned/.test(text) && text.includes('Signed in to Azure') ? text : undefined;
      },
      4 * 60_000,
    );
    await wb.screenshot('trust-status');
    assert.equal(attacker.connections, 0, 'no connection reached the host named in .vscode/settings.json');
    assert.equal(log.split(IGNORED).length - 1, 1, `the output says once that the workspace values were ignored:\n${log}`);
    assert.ok(log.includes('(token from client)'), 'the token came from the token command in the user settings');
    assert.doesNotMatch(log, /eyJ[\w-]+\.eyJ/, 'no access token (a JWT) in the log');
  });
});
