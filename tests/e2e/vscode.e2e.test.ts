// End to end in a real VS Code (code-server + headless chromium): the packaged platform-specific
// .vsix on a clean profile, with no interpreter setting (the system python3 from PATH), no proxy
// and the package index unreachable; the real Python server it starts, and the local Azure
// emulator. Screenshots: test-artifacts/e2e/.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { CONFIG_KEYS, fullKey } from '../../extension/src/settings';
import {
  ARTIFACTS,
  cleanMachineEnv,
  closedPort,
  codeServerDirs,
  codeServerEnv,
  type EmulatorInfo,
  emulatorSettings,
  eventually,
  FatalError,
  FAKE_AZ,
  findFiles,
  installExtension,
  launchBrowser,
  missingPrerequisite,
  plain,
  Proc,
  PYTHON,
  REPO,
  startCodeServer,
  startEmulator,
  tempRoot,
  Workbench,
  writeUserSettings,
} from './harness';

const SERVER_MODULE = path.join(REPO, 'server', 'aitk_inference', 'lsp', 'server.py');
const PROVISION = 'AI Toolkit: Provision Azure Container Apps for inference';
const DEPLOY = 'AI Toolkit: Deploy for inference';
const STATUS = 'AI Toolkit: Show inference status';
const CREATE_FILES = 'AI Toolkit: Create inference project files';
const RESOURCE_GROUP = 'rg-e2e-inference';
const STREAM_LOGS = 'AI Toolkit: Stream Inference Logs';
// A small app that prints a known line (tests/core/operate/talking_app.py), run by the emulator's process runtime.
const TALKING_APP = path.join(REPO, 'tests', 'core', 'operate', 'talking_app.py');
const TALKING_MARKER = 'talking-app: hello from the app';

/** POST /_emulator/runtime: what answers behind app ingress from the next revision activation on. */
function emulatorRuntime(info: EmulatorInfo, runtime: 'process' | 'quickstart'): Promise<void> {
  const body = JSON.stringify({ runtime, python: PYTHON });
  return new Promise((resolve, reject) => {
    const req = https.request(`${info.arm}/_emulator/runtime`, { method: 'POST', ca: readFileSync(info.ca), headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`emulator runtime: HTTP ${String(res.statusCode)}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The endpoint itself, or code-server's forwarding of its loopback port (what a remote VS Code does). */
function opensEndpoint(opened: string, endpoint: string): boolean {
  const want = new URL(endpoint);
  const got = new URL(opened);
  if (got.origin === want.origin) return true;
  return got.pathname.startsWith(`/proxy/${want.port}`);
}

interface InferenceConfig {
  SUBSCRIPTION_ID: string | null;
  RESOURCE_GROUP_NAME: string | null;
  ACA_APP_NAME: string | null;
  ACA_APP_ENDPOINT: string | null;
}

describe('AI Toolkit extension in VS Code (code-server), against the Azure emulator', function () {
  this.timeout(15 * 60_000);
  let root = '';
  let workspace = '';
  let emulator: Proc | undefined;
  let info: EmulatorInfo;
  let codeServer: Proc | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let wb: Workbench;
  let userData = '';
  let dirs: ReturnType<typeof codeServerDirs>;
  let failed = false;

  // No interpreter setting: the extension finds python3 on PATH and brings the rest itself.
  const userSettings: Record<string, unknown> = {
    // As a user of az would write it: the requested scope, and the tenant the server asks for.
    [fullKey(CONFIG_KEYS.tokenCommand)]: `${FAKE_AZ} account get-access-token --output json --scope {scopes} \${AITK_TOKEN_TENANT:+--tenant $AITK_TOKEN_TENANT}`,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'security.workspace.trust.enabled': false,
    // Message results in the trace (the channel traces once its log level is Trace, set below).
    [fullKey(CONFIG_KEYS.traceServer)]: 'verbose',
  };
  /** Sets one aitk.inference setting the way a user does, in the Settings editor. */
  const setSetting = async (key: string, value: string): Promise<void> => {
    await wb.runCommand('Preferences: Open User Settings');
    const editor = wb.page.locator('.settings-editor');
    await editor.waitFor({ state: 'visible', timeout: 30_000 });
    // Machine-scoped settings (where tokens go, which CAs are trusted) live on the Remote tab in
    // code-server, as in any remote window; the others on the User tab.
    const machineScoped = (['cloud', 'armEndpoint', 'caBundle'] as string[]).includes(key);
    await editor.locator('.settings-tabs-widget .action-label', { hasText: machineScoped ? /^Remote/ : /^User$/ }).first().click();
    const search = editor.locator('.suggest-input-container .view-lines').first();
    await search.click();
    await wb.page.keyboard.press('Control+A');
    await wb.page.keyboard.type(fullKey(key));
    // Wait for the search to narrow the list: before that, the first text input is another setting.
    await editor.locator('.settings-count-widget', { hasText: '1 Setting Found' }).waitFor({ state: 'visible', timeout: 30_000 });
    await eventually('the search to show the setting', async () => (plain(await search.innerText()).trim() === fullKey(key) ? true : undefined), 10_000, 200);
    const input = editor.locator('.setting-item-contents input').first();
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    await input.fill(value);
    await input.press('Tab');
  };
  const logText = (): string =>
    findFiles(userData, /^AI Toolkit\.log$/)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
  const configPath = (): string => path.join(workspace, 'infra', 'inference.config.json');
  const readConfig = (): InferenceConfig => JSON.parse(readFileSync(configPath(), 'utf8')) as InferenceConfig;
  // The config keeps the app's FQDN (the template's ingress.fqdn output); the endpoint is https on it.
  const endpointUrl = (): string => `https://${readConfig().ACA_APP_ENDPOINT ?? ''}`;

  before(async function () {
    // The one allowed skip: the Python server this extension drives is not in the checkout.
    if (!existsSync(SERVER_MODULE)) {
      console.log(`SKIPPED: ${SERVER_MODULE} is missing (the pygls server is not in this checkout).`);
      this.skip();
    }
    const missing = missingPrerequisite();
    if (missing) throw new Error(missing);
    rmSync(ARTIFACTS, { recursive: true, force: true });
    root = tempRoot();
    workspace = path.join(root, 'workspace');
    ({ proc: emulator, info } = await startEmulator(path.join(root, 'emulator')));
    // Slower long-running operations keep the progress notification on screen long enough to see.
    await emulatorSettings(info, { operation_step_delay: 0.4, revision_activation_delay: 3 });

    dirs = codeServerDirs(path.join(root, 'code-server'));
    userData = dirs.userData;
    // The server reaches the emulator like a sovereign-cloud user's server reaches its cloud: the
    // ARM endpoint and CA bundle come from the environment. The token comes from the token command
    // setting (az-style JSON); az is NOT on PATH, so a fallback credential could not succeed.
    const clean = cleanMachineEnv(process.env, ['/usr/bin', '/bin'], await closedPort());
    const env = codeServerEnv(
      dirs,
      {
        AZURE_RESOURCE_MANAGER_ENDPOINT: info.arm,
        REQUESTS_CA_BUNDLE: info.ca,
        SSL_CERT_FILE: info.ca,
        AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential',
      },
      clean,
    );
    installExtension(dirs, env);
    writeUserSettings(dirs, userSettings);
    const started = await startCodeServer(dirs, env);
    codeServer = started.proc;
    mkdirSync(workspace, { recursive: true });
    writeFileSync(path.join(workspace, 'README.md'), '# my fine-tuned model\n');
    context = await launchBrowser(path.join(root, 'chromium-profile'));
    // Records every URL the workbench opens in a new tab (what openExternal does in a browser).
    await context.addInitScript({
      content: 'window.__aitkOpened = []; const open = window.open.bind(window); window.open = (url, ...rest) => { window.__aitkOpened.push(String(url)); return open(url, ...rest); };',
    });
    page = context.pages()[0] ?? (await context.newPage());
    wb = new Workbench(page);
    await wb.open(`${started.url}/?folder=${encodeURIComponent(workspace)}`);
    await wb.screenshot('workbench');
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    codeServer?.stop();
    emulator?.stop();
    // Kept after a failure, for its logs (code-server's under code-server/user-data/logs).
    if (root && !failed) rmSync(root, { recursive: true, force: true });
    else if (root) console.log(`e2e state kept in ${root}`);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      failed = true;
      await wb?.screenshot(`failed-${(this.currentTest.title.split(' ')[0] ?? 'step').toLowerCase()}`).catch(() => undefined);
      console.log(`code-server log tail:\n${codeServer?.tail() ?? ''}\nemulator log tail:\n${emulator?.tail() ?? ''}`);
    }
  });

  it('creates the project files from the palette (infra/ and inference/)', async () => {
    await wb.runCommand(CREATE_FILES, 'palette-create-files');
    await wb.waitForNotification(/created \d+ inference project files/, 60_000);
    for (const rel of ['infra/provision/inference.bicep', 'infra/provision/inference.parameters.json', 'infra/inference.config.json', 'inference/app.py']) {
      assert.ok(existsSync(path.join(workspace, rel)), `${rel} was created`);
    }
    assert.equal(readConfig().ACA_APP_NAME, null, 'the template config starts empty');
    await wb.page.keyboard.press('Escape');
  });

  it('turns on the LSP message trace (its own channel, "AI Toolkit Trace")', async () => {
    await wb.page.keyboard.press('Escape');
    await wb.runCommand('Developer: Set Log Level...');
    // Two untitled pickers: the logger, then its level (the first one also offers a level for all).
    const rows = wb.quickInput.locator('.monaco-list-row');
    const byLabel = (label: RegExp): Locator => rows.filter({ has: wb.page.locator('.label-name', { hasText: label }) }).first();
    await byLabel(/^AI Toolkit Trace$/).click();
    await byLabel(/^AI Toolkit Trace$/).waitFor({ state: 'detached', timeout: 30_000 });
    await byLabel(/^Trace$/).click();
    await wb.page.keyboard.press('Escape');
  });

  it('a deploy before provisioning names every empty key and Open inference.config.json opens the file', async () => {
    await wb.runCommand(DEPLOY);
    const toast = await wb.waitForNotificationText(/SUBSCRIPTION_ID is empty/, 120_000);
    await wb.page.waitForTimeout(700); // past the fade-in, for the screenshot
    await wb.screenshot('deploy-config-incomplete');
    const text = plain(await toast.innerText());
    assert.match(text, /has 6 problems: \(1\) SUBSCRIPTION_ID is empty;.*\(6\) ACA_APP_ENDPOINT is empty\./);
    for (const button of ['Open inference.config.json', 'Provision', 'Show Output']) assert.ok(text.includes(button), `"${button}" is offered: ${text}`);
    await toast.locator('.monaco-button', { hasText: 'Open inference.config.json' }).first().click();
    const tab = wb.page.locator('.tabs-container .tab', { hasText: 'inference.config.json' }).first();
    await tab.waitFor({ state: 'visible', timeout: 30_000 });
    await wb.screenshot('config-opened');
    assert.deepEqual(await wb.errors(), [], 'no other error was shown');
  });

  it('cancelling Provision while its subscription picker is open closes the picker and shows nothing else', async () => {
    await wb.page.keyboard.press('Escape');
    await wb.runCommand(PROVISION);
    await eventually(
      'the subscription picker',
      async () => ((await wb.quickInput.isVisible()) && /subscription/i.test(plain(await wb.quickInput.locator('.quick-input-title').innerText())) ? true : undefined),
      120_000,
    );
    await wb.screenshot('picker-open');
    const cancel = wb.notification(PROVISION).locator('.monaco-button', { hasText: 'Cancel' }).first();
    await cancel.click({ force: true });
    // The server sent $/cancelRequest for its aitk/pick: VS Code closed the picker.
    await eventually('the picker to close', async () => ((await wb.quickInput.isVisible()) ? undefined : true), 30_000);
    await wb.page.waitForTimeout(3_000); // anything the cancel would show has shown by now
    await wb.screenshot('picker-closed');
    const texts = await wb.notificationTexts();
    assert.deepEqual(texts, [], `nothing else shown: ${texts.join(' | ')}`);
    assert.doesNotMatch(logText(), /Error in server/);
    assert.equal(readConfig().ACA_APP_NAME, null, 'nothing was provisioned');
  });

  it('provisions: pickers answered, progress shown, infra/inference.config.json written', async () => {
    await wb.runCommand(PROVISION, 'palette-provision');
    const answered: string[] = [];
    // Answer the server's questions as they come, then watch the provision progress to the end.
    await eventually(
      'the provision questions',
      async () => {
        const errors = await wb.errors();
        if (errors.length) throw new FatalError(`provision failed: ${errors.join(' | ')}`);
        if (readConfig().ACA_APP_NAME) return true;
        if (await wb.quickInput.isVisible()) {
          const title = plain(await wb.quickInput.locator('.quick-input-title').innerText());
          if (/subscription/i.test(title)) {
            await wb.pickItem(/subscription/i, 'Emulated Subscription', 'pick-subscription');
            answered.push('subscription');
          } else if (/^Select the resource group/i.test(title)) {
            await wb.pickItem(/resource group/i, 'Create a new resource group', 'pick-resource-group');
            answered.push('resource group');
          } else if (/name of the new resource group/i.test(title)) {
            await wb.answerInput(/name of the new resource group/i, RESOURCE_GROUP);
            answered.push('resource group name');
          } else if (/location/i.test(title)) {
            await wb.pickItem(/location/i, 'Sweden Central', 'pick-location');
            answered.push('location');
          }
          return undefined;
        }
        const confirm = wb.notification(`Resource group ${RESOURCE_GROUP} does not exist`);
        if (await confirm.isVisible()) {
          await confirm.locator('.monaco-button', { hasText: 'Continue' }).first().click();
          answered.push('confirm');
          return true;
        }
        return undefined;
      },
      3 * 60_000,
      300,
    );
    const progress = await wb.watchProgress(PROVISION, 'progress-provision', async () => Boolean(readConfig().ACA_APP_NAME && readConfig().ACA_APP_ENDPOINT), 8 * 60_000);
    await wb.screenshot('provision-done');
    assert.ok(answered.includes('subscription'), `the subscription picker was answered (${answered.join(', ')})`);
    assert.ok(answered.includes('resource group'), `the resource group picker was answered (${answered.join(', ')})`);
    assert.ok(progress.screenshot, `the provision progress notification was shown (${progress.texts.join(' | ')})`);
    assert.ok(progress.texts.length >= 2, `the notification showed the server's steps: ${progress.texts.join(' | ')}`);
    const cfg = readConfig();
    assert.equal(cfg.SUBSCRIPTION_ID, '3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c');
    assert.equal(cfg.RESOURCE_GROUP_NAME, RESOURCE_GROUP);
    assert.match(cfg.ACA_APP_ENDPOINT ?? '', /^[\w.-]+(:\d+)?$/, 'ACA_APP_ENDPOINT is the app FQDN');
  });

  it('deploys: progress, "Deployment done." and Go to Inference Endpoint opens the endpoint', async () => {
    const endpoint = endpointUrl();
    await wb.page.keyboard.press('Escape');
    await wb.runCommand(DEPLOY, 'palette-deploy');
    const done = wb.notification('Deployment done.');
    const progress = await wb.watchProgress(DEPLOY, 'progress-deploy', () => done.isVisible(), 8 * 60_000);
    assert.ok(progress.screenshot, `the deploy progress notification was shown (${progress.texts.join(' | ')})`);
    assert.ok(progress.texts.length >= 2, `the notification showed the server's steps: ${progress.texts.join(' | ')}`);
    await wb.page.waitForTimeout(700); // past the fade-in, for the screenshot
    await wb.screenshot('deployment-done');
    const doneText = plain(await done.innerText());
    assert.match(doneText, /Go to Inference Endpoint/);
    assert.match(doneText, /Copy Endpoint/);

    // Choosing the button goes back to the server, which logs it and asks VS Code to open the
    // endpoint externally (window/showDocument, external: true); the workbench then opens a tab.
    await done.locator('.monaco-button', { hasText: 'Go to Inference Endpoint' }).first().click();
    const opened = await eventually(
      'the workbench to open the endpoint in a new tab',
      async () => {
        // VS Code asks before opening a site outside its trusted domains (loopback is trusted).
        const dialog = wb.page.locator('.monaco-dialog-box');
        if (await dialog.isVisible()) {
          await wb.screenshot('open-endpoint-dialog');
          await dialog.locator('.monaco-button', { hasText: /^Open$/ }).first().click();
        }
        const urls = (await wb.page.evaluate('window.__aitkOpened')) as string[];
        return urls.length ? urls : undefined;
      },
      60_000,
    );
    await wb.screenshot('endpoint-opened');
    assert.equal(opened.length, 1, `one tab opened: ${opened.join(', ')}`);
    assert.ok(opensEndpoint(opened[0] ?? '', endpoint), `the tab opened ${opened[0]}, which is not ${endpoint}`);
  });

  it('shows the server log in the AI Toolkit output channel, without secrets', async () => {
    await wb.runCommand('Output: Show Output Channels...');
    await wb.pickItem(/./, /^AI Toolkit$/);
    const view = wb.page.locator('.part.panel .view-lines').first();
    await view.waitFor({ state: 'visible', timeout: 30_000 });
    await wb.screenshot('output-channel');
    assert.ok(plain(await view.innerText()).trim().length > 0, 'the output panel shows the channel');

    const endpoint = endpointUrl();
    const log = await eventually(
      'the AI Toolkit log file to name the endpoint',
      async () => {
        const text = logText();
        return text.includes(endpoint) ? text : undefined;
      },
      30_000,
    );
    assert.match(log, /aitk_inference serve/);
    // First start on a clean machine: the system python3, the VSIX's own libraries, nothing built.
    assert.match(log, /Python: \/usr\/bin\/python3 \(on PATH, cpython 3\.1[1-3]\.\d+\)/);
    assert.match(log, /with the libraries bundled for linux-x64, CPython 3\.1[1-3]\)/);
    assert.deepEqual(findFiles(userData, /^pyvenv\.cfg$/), [], 'no virtual environment was created');
    assert.ok(log.includes(`Opening ${endpoint}`), 'the server logged the Go to Inference Endpoint choice');
    assert.match(log, new RegExp(RESOURCE_GROUP));
    assert.doesNotMatch(log, /eyJ[\w-]+\.eyJ/, 'no access token (a JWT) in the log');
    assert.doesNotMatch(log, /Sending response 'aitk\/getToken/, 'the trace is not in the AI Toolkit channel');

    // The trace has the client's answers to aitk/getToken, with the token redacted.
    const trace = findFiles(userData, /^AI Toolkit Trace\.log$/).map((f) => readFileSync(f, 'utf8')).join('\n');
    assert.match(trace, /Sending response 'aitk\/getToken - \([\w-]+\)'[^\n]*\n(?:[^\n]*\n){0,2}\s*"token": "\*\*\*"/);
    assert.doesNotMatch(trace, /eyJ[\w-]+\.[\w-]+\./, 'no JWT in the trace');
  });

  it('Status ends with a summary notification and every line is logged once', async () => {
    await wb.page.keyboard.press('Escape');
    const app = readConfig().ACA_APP_NAME ?? '';
    const endpoint = endpointUrl();
    await wb.runCommand(STATUS, 'palette-status');
    const toast = await wb.waitForNotificationText(`${app}: revision`, 120_000);
    await wb.page.waitForTimeout(700); // past the fade-in, for the screenshot
    await wb.screenshot('status-summary');
    const text = plain(await toast.innerText());
    assert.match(text, new RegExp(`${app}: revision ${app}--\\w+ is Running \\(Healthy\\)\\. ${endpoint.replace(/[.]/g, '\\.')} answers\\.`));
    for (const button of ['Go to Inference Endpoint', 'Open in Portal', 'Stream logs', 'Show Output']) assert.ok(text.includes(button), `"${button}" is offered: ${text}`);
    await toast.locator('.monaco-button', { hasText: 'Show Output' }).first().click();
    const log = await eventually('the status lines in the log', async () => (logText().includes('Azure portal:') ? logText() : undefined), 30_000);
    const count = (fragment: string): number => log.split('\n').filter((line) => line.includes(fragment)).length;
    assert.equal(count('Latest revision:'), 1, 'the status lines are logged once');
    assert.equal(count('Sync done:'), 1, '"Sync done" once for the one deploy');
    assert.equal(count('Inference endpoint:'), 2, '"Inference endpoint" once for the provision and once for the deploy');
    const appLinks = log.split('\n').filter((line) => line.includes('#@/resource/') && line.endsWith(`/providers/Microsoft.App/containerApps/${app}`));
    assert.equal(appLinks.length, 3, 'the app\'s portal link for provision, deploy and status');
    assert.match(log, new RegExp(`App: +${app} \\(resource group ${RESOURCE_GROUP}, subscription `));
    assert.match(log, /Provisioning: +Succeeded/);
  });

  it('cancels a running deploy from its progress notification', async () => {
    await wb.page.keyboard.press('Escape');
    await wb.runCommand(DEPLOY);
    const toast = wb.notification(DEPLOY);
    const cancel = toast.locator('.monaco-button', { hasText: 'Cancel' }).first();
    await cancel.waitFor({ state: 'visible', timeout: 120_000 });
    // The toast reflows with every progress message, so it is never "stable" for a normal click.
    await cancel.click({ force: true });
    await wb.screenshot('deploy-cancelled');
    // The Cancel reached the server ($/cancelRequest + workDoneProgress/cancel), which stopped the
    // deploy and said so; the extension logged the cancelled command.
    const log = await eventually(
      'the server to report the cancelled deploy',
      async () => {
        const text = logText();
        return /\[warning\].*cancelled/i.test(text) && text.includes(`${DEPLOY}: cancelled.`) ? text : undefined;
      },
      120_000,
    );
    assert.equal((log.match(/Deployment done: \d+ file/g) ?? []).length, 1, 'the cancelled deploy did not finish');
  });

  it('streams the app\'s live log into the Inference Logs output channel', async () => {
    // Run on its own (mocha --grep), this step provisions with the CLI first.
    if (!existsSync(configPath()) || !readConfig().ACA_APP_NAME) {
      cpSync(path.join(REPO, 'infra'), path.join(workspace, 'infra'), { recursive: true });
      cpSync(path.join(REPO, 'inference'), path.join(workspace, 'inference'), { recursive: true });
      const env = { ...process.env, AZURE_RESOURCE_MANAGER_ENDPOINT: info.arm, REQUESTS_CA_BUNDLE: info.ca, SSL_CERT_FILE: info.ca, AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential', PATH: `${path.dirname(FAKE_AZ)}${path.delimiter}${process.env.PATH ?? ''}` };
      const args = ['-m', 'aitk_inference', 'provision', '--project', workspace, '--subscription', '3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c', '--resource-group', RESOURCE_GROUP, '--location', 'westus3', '--yes'];
      const r = spawnSync(PYTHON, args, { env, encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, `CLI provision failed:\n${r.stderr}`);
    }
    // From now on the emulator runs the app's command for real; the app prints TALKING_MARKER.
    await emulatorRuntime(info, 'process');
    copyFileSync(TALKING_APP, path.join(workspace, 'inference', 'talking_app.py'));
    writeFileSync(path.join(workspace, 'inference', 'start.sh'), '#!/usr/bin/env bash\nhere="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\nexec "$AITK_PYTHON" "$here/talking_app.py"\n');
    await wb.runCommand('Notifications: Clear All Notifications');
    await wb.runCommand(DEPLOY);
    await wb.waitForNotification('Deployment done.', 8 * 60_000);
    await wb.runCommand('Notifications: Clear All Notifications');

    await wb.runCommand(STREAM_LOGS, 'palette-stream-logs');
    const view = wb.page.locator('.part.panel .view-lines').first();
    await eventually(
      'the app\'s line in the Inference Logs output channel',
      async () => ((await view.isVisible()) && plain(await view.innerText()).includes(TALKING_MARKER) ? true : undefined),
      120_000,
      500,
    );
    await wb.screenshot('inference-logs');
    // The stream runs until stopped: Cancel on its progress notification ends it cleanly.
    const toast = wb.notification(STREAM_LOGS);
    await toast.waitFor({ state: 'visible', timeout: 30_000 });
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).first().click({ force: true });
    const log = await eventually(
      'the server to end the log stream',
      async () => {
        const text = logText();
        return /Log stream ended: \d+ line\(s\) from the console log of replica/.test(text) ? text : undefined;
      },
      60_000,
    );
    assert.match(log, /Container app \S+ in the Azure portal: https:\/\/portal\.azure\.com\/#@\/resource\/subscriptions\//);
    await emulatorRuntime(info, 'quickstart');
  });

  it('a settings change during a deploy: the deploy completes, then the server restarts with the new interpreter', async () => {
    await wb.page.keyboard.press('Escape');
    // A slower readiness wait keeps the deploy in flight while the settings change.
    await emulatorSettings(info, { revision_activation_delay: 40 });
    const deploysBefore = (logText().match(/Deployment done: \d+ file/g) ?? []).length;
    const startsBefore = (logText().match(/Starting .*aitk_inference serve/g) ?? []).length;
    writeFileSync(path.join(workspace, 'inference', 'changed.txt'), 'a change to upload\n');
    await wb.runCommand(DEPLOY);
    await wb.notification(DEPLOY).waitFor({ state: 'visible', timeout: 120_000 });
    // In the Settings editor: a live setting (the CA bundle, the same file) and the interpreter.
    await setSetting(CONFIG_KEYS.caBundle, info.ca);
    await setSetting(CONFIG_KEYS.python, '/nonexistent/python3');
    const waiting = await wb.waitForNotificationText(/restarts when the running command ends \(deploy\)/, 60_000);
    await wb.screenshot('restart-waits-for-deploy');
    assert.ok(await waiting.isVisible());
    await wb.waitForNotification('Deployment done.', 5 * 60_000).catch(async (err: unknown) => {
      // The restart's own error may already be on screen once the deploy is done: accept that order.
      if (!(await wb.notification('Deployment done.').isVisible())) throw err;
    });
    const log = logText();
    assert.equal((log.match(/Deployment done: \d+ file/g) ?? []).length, deploysBefore + 1, 'the deploy in flight completed');
    assert.match(log, /Settings applied: aitk\.inference\.caBundle\./, 'the live setting reached the running server');

    const toast = await wb.waitForNotificationText(/inference server did not start/, 120_000);
    await wb.page.waitForTimeout(700); // past the fade-in, for the screenshot
    await wb.screenshot('server-start-error');
    const text = plain(await toast.innerText());
    assert.match(text, /"\/nonexistent\/python3" \(from the aitk\.inference\.python setting\) could not be run/);
    assert.match(text, /Set "aitk\.inference\.python" to a Python 3\.11 or newer interpreter\./);
    assert.match(text, /Open Settings/);
    const restarted = logText();
    assert.ok(restarted.indexOf('Restarting the inference server') > restarted.lastIndexOf('Deployment done:'), 'the restart came after the deploy');
    assert.equal((restarted.match(/Starting .*aitk_inference serve/g) ?? []).length, startsBefore, 'no server started with the bad interpreter');

    await toast.locator('.monaco-button', { hasText: 'Open Settings' }).first().click();
    const search = wb.page.locator('.settings-editor .suggest-input-container .view-lines').first();
    await search.waitFor({ state: 'visible', timeout: 30_000 });
    await wb.screenshot('open-settings');
    assert.match(plain(await search.innerText()), new RegExp(fullKey(CONFIG_KEYS.python).replace(/\./g, '\\.')));
  });

  it('"AI Toolkit: Restart Inference Server" starts the server again', async () => {
    await wb.page.keyboard.press('Escape');
    const starts = (): number => (logText().match(/Starting .*aitk_inference serve/g) ?? []).length;
    const before = starts();
    await setSetting(CONFIG_KEYS.python, ''); // empty again: python3 from PATH
    await wb.runCommand('AI Toolkit: Restart Inference Server');
    await eventually('the restarted server', async () => (starts() > before ? true : undefined), 120_000);
    assert.match(logText(), /Restarting the inference server: asked for by the user\./);
    assert.deepEqual(await wb.errors(), [], 'no error on screen');
  });
});
