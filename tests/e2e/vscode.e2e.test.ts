// End to end in a real VS Code (code-server + headless chromium): the packaged .vsix, the real
// Python server it starts, and the local Azure emulator. Screenshots: test-artifacts/e2e/.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import {
  ARTIFACTS,
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
const CREATE_FILES = 'AI Toolkit: Create inference project files';
const STATUS = 'AI Toolkit: Show inference status';
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
  let failed = false;

  const userSettings: Record<string, unknown> = {
    'aitk.inference.python': PYTHON,
    // As a user of az would write it: the requested scope, and the tenant the server asks for.
    'aitk.inference.tokenCommand': `${FAKE_AZ} account get-access-token --output json --scope {scopes} \${AITK_TOKEN_TENANT:+--tenant $AITK_TOKEN_TENANT}`,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'security.workspace.trust.enabled': false,
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

    const dirs = codeServerDirs(path.join(root, 'code-server'));
    userData = dirs.userData;
    // The server reaches the emulator like a sovereign-cloud user's server reaches its cloud: the
    // ARM endpoint and CA bundle come from the environment. The token comes from the token command
    // setting (az-style JSON); az is NOT on PATH, so a fallback credential could not succeed.
    const env = codeServerEnv(dirs, {
      AZURE_RESOURCE_MANAGER_ENDPOINT: info.arm,
      REQUESTS_CA_BUNDLE: info.ca,
      SSL_CERT_FILE: info.ca,
      AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential',
    });
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
    await wb.pickItem(/./, 'AI Toolkit');
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
    assert.ok(log.includes(`Opening ${endpoint}`), 'the server logged the Go to Inference Endpoint choice');
    assert.match(log, new RegExp(RESOURCE_GROUP));
    assert.doesNotMatch(log, /eyJ[\w-]+\.eyJ/, 'no access token (a JWT) in the log');
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

  it('restarts the server on a setting change and reports one that cannot start in plain words', async () => {
    // What a user does in the Settings editor; the extension restarts the server with the new interpreter.
    await wb.runCommand('Preferences: Open User Settings');
    await wb.page.locator('.settings-editor').waitFor({ state: 'visible', timeout: 30_000 });
    await wb.page.keyboard.type('aitk.inference.python');
    // Wait for the search to narrow the list: before that, the first text input is another setting.
    await wb.page.locator('.settings-editor .settings-count-widget', { hasText: '1 Setting Found' }).waitFor({ state: 'visible', timeout: 30_000 });
    const input = wb.page.locator('.settings-editor .setting-item-contents', { hasText: 'Inference: Python' }).locator('input').first();
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    await input.fill('/nonexistent/python3');
    await input.press('Tab');
    const toast = await wb.waitForNotificationText(/inference server did not start/, 60_000);
    await wb.page.waitForTimeout(700); // past the fade-in, for the screenshot
    await wb.screenshot('server-start-error');
    const text = plain(await toast.innerText());
    assert.match(text, /"\/nonexistent\/python3" \(from the aitk\.inference\.python setting\)/);
    assert.match(text, /Show log/);
  });
});
