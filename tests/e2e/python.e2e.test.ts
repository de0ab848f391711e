// End to end in a real VS Code: a machine whose only Python is older than 3.11 (Debian's pypy3,
// Python 3.9, as python3 and python on PATH; no interpreter setting). The first command gets one
// plain message naming what was found and what to do, with an "Open Settings" button.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { CONFIG_KEYS, fullKey } from '../../extension/src/settings';
import {
  cleanMachineEnv,
  closedPort,
  codeServerDirs,
  codeServerEnv,
  installExtension,
  launchBrowser,
  missingPrerequisite,
  plain,
  type Proc,
  startCodeServer,
  tempRoot,
  Workbench,
  writeUserSettings,
} from './harness';

const OLD_PYTHON = '/usr/bin/pypy3';
const STATUS = 'AI Toolkit: Show inference status';

describe('AI Toolkit extension on a machine with only an older Python', function () {
  this.timeout(10 * 60_000);
  let root = '';
  let codeServer: Proc | undefined;
  let context: BrowserContext | undefined;
  let wb: Workbench;
  let shim = '';
  let failed = false;

  before(async () => {
    const missing = missingPrerequisite() ?? (existsSync(OLD_PYTHON) ? undefined : `${OLD_PYTHON} is missing: run scripts/install-e2e-tools.sh (apt-get install pypy3).`);
    if (missing) throw new Error(missing);
    root = tempRoot();
    shim = path.join(root, 'bin');
    mkdirSync(shim);
    for (const name of ['python3', 'python']) symlinkSync(OLD_PYTHON, path.join(shim, name));
    const workspace = path.join(root, 'workspace');
    mkdirSync(path.join(workspace, 'infra'), { recursive: true });
    writeFileSync(path.join(workspace, 'infra', 'inference.config.json'), '{}\n');
    const dirs = codeServerDirs(path.join(root, 'code-server'));
    const env = codeServerEnv(dirs, {}, cleanMachineEnv(process.env, [shim], await closedPort()));
    installExtension(dirs, env);
    writeUserSettings(dirs, { 'workbench.startupEditor': 'none', 'workbench.tips.enabled': false, 'telemetry.telemetryLevel': 'off', 'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false });
    const started = await startCodeServer(dirs, env);
    codeServer = started.proc;
    context = await launchBrowser(path.join(root, 'chromium-profile'));
    wb = new Workbench(context.pages()[0] ?? (await context.newPage()));
    await wb.open(`${started.url}/?folder=${encodeURIComponent(workspace)}`);
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    codeServer?.stop();
    if (root && !failed) rmSync(root, { recursive: true, force: true });
    else if (root) console.log(`e2e state kept in ${root}`);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      failed = true;
      await wb?.screenshot('failed-older-python').catch(() => undefined);
      console.log(`code-server log tail:\n${codeServer?.tail() ?? ''}`);
    }
  });

  it('names the Python it found and what to do, with an Open Settings button', async () => {
    await wb.runCommand(STATUS);
    const toast = await wb.waitForNotificationText(/inference server did not start/, 120_000);
    await wb.page.waitForTimeout(700); // past the fade-in, for the screenshot
    await wb.screenshot('older-python-message');
    const text = plain(await toast.innerText());
    const found = (name: string): RegExp => new RegExp(`"${path.join(shim, name).replace(/[/.]/g, '\\$&')}" \\(on PATH\\) is 3\\.9\\.\\d+`);
    assert.match(text, /The inference server needs Python 3\.11 or newer\. Found: /);
    assert.match(text, found('python3'));
    assert.match(text, found('python'));
    assert.match(text, /Install Python 3\.11 or newer, or set "aitk\.inference\.python" to its path\./);
    await toast.locator('.monaco-button', { hasText: 'Open Settings' }).first().click();
    const search = wb.page.locator('.settings-editor .suggest-input-container .view-lines').first();
    await search.waitFor({ state: 'visible', timeout: 30_000 });
    await wb.screenshot('older-python-open-settings');
    assert.equal(plain(await search.innerText()).trim(), fullKey(CONFIG_KEYS.python));
  });
});
