// Pieces of the end-to-end run: the Azure emulator, code-server with the packaged extension,
// headless Debian chromium driven by playwright-core, and workbench helpers.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

export const REPO = path.resolve(__dirname, '..', '..');
export const CODE_SERVER = path.join(REPO, '.tools', 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = '/usr/bin/chromium';
// The platform-specific VSIX for this machine (scripts/package.sh), carrying the server's libraries.
export const VSIX = path.join(REPO, 'dist', `aitk-inference-${process.platform}-${process.arch}.vsix`);
export const PYTHON = path.join(REPO, '.venv', 'bin', 'python');
export const FAKE_AZ = path.join(REPO, 'tests', 'azure_emulator', 'fake_az', 'az');
export const ARTIFACTS = path.join(REPO, 'test-artifacts', 'e2e');

/** Why the run cannot start, or undefined when everything it needs is there. */
export function missingPrerequisite(): string | undefined {
  if (!existsSync(CODE_SERVER)) return `code-server is not installed at ${CODE_SERVER}: run scripts/install-e2e-tools.sh.`;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing: run scripts/install-e2e-tools.sh (apt-get install chromium).`;
  if (!existsSync(VSIX)) return `${VSIX} is missing: run bash scripts/package.sh.`;
  if (!existsSync(PYTHON)) return `${PYTHON} is missing: run scripts/bootstrap.sh.`;
  return undefined;
}

const running = new Set<Proc>();
// An interrupted run (Ctrl+C, CI timeout) must not leave code-server or the emulator behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const proc of running) proc.stop();
    process.exit(130);
  });
}

/** A process started in its own group, stopped with the whole group. */
export class Proc {
  readonly output: string[] = [];
  constructor(readonly child: ChildProcess, readonly name: string) {
    child.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()));
    running.add(this);
    child.on('exit', () => running.delete(this));
  }
  stop(): void {
    running.delete(this);
    if (this.child.pid === undefined || this.child.exitCode !== null) return;
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  tail(): string {
    return this.output.join('').split('\n').slice(-40).join('\n');
  }
}

function firstLine(proc: Proc, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${proc.name} did not print ${pattern} within ${timeoutMs / 1000}s:\n${proc.tail()}`)), timeoutMs);
    const onLine = (line: string): void => {
      const m = pattern.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    for (const stream of [proc.child.stdout, proc.child.stderr]) {
      if (stream) readline.createInterface({ input: stream }).on('line', onLine);
    }
    proc.child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${proc.name} exited (${String(code)}) before printing ${pattern}:\n${proc.tail()}`));
    });
  });
}

export interface EmulatorInfo {
  arm: string;
  ca: string;
  data: string;
}

export async function startEmulator(dataDir: string): Promise<{ proc: Proc; info: EmulatorInfo }> {
  const child = spawn(PYTHON, ['-m', 'tests.azure_emulator', '--data', dataDir], { cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new Proc(child, 'the Azure emulator');
  const m = await firstLine(proc, /^(\{.*"arm".*\})\s*$/, 60_000);
  return { proc, info: JSON.parse(m[1] ?? '{}') as EmulatorInfo };
}

/** POST /_emulator/settings: run-time knobs of the emulator (no auth on control routes). */
export function emulatorSettings(info: EmulatorInfo, settings: Record<string, unknown>): Promise<void> {
  const body = JSON.stringify(settings);
  return new Promise((resolve, reject) => {
    const req = https.request(`${info.arm}/_emulator/settings`, { method: 'POST', ca: readFileSync(info.ca), headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`emulator settings: HTTP ${String(res.statusCode)}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface CodeServerDirs {
  root: string;
  userData: string;
  extensions: string;
}

export function codeServerDirs(root: string): CodeServerDirs {
  const dirs = { root, userData: path.join(root, 'user-data'), extensions: path.join(root, 'extensions') };
  for (const d of [dirs.userData, dirs.extensions, path.join(root, 'xdg-config'), path.join(root, 'xdg-data'), path.join(root, 'tmp')]) mkdirSync(d, { recursive: true });
  return dirs;
}

/** Keeps code-server out of the home folder and /tmp. */
export function codeServerEnv(dirs: CodeServerDirs, extra: Record<string, string>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, XDG_CONFIG_HOME: path.join(dirs.root, 'xdg-config'), XDG_DATA_HOME: path.join(dirs.root, 'xdg-data'), TMPDIR: path.join(dirs.root, 'tmp'), ...extra };
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * What a user's clean machine looks like to the extension: `pathDirs` only on PATH (the system
 * python3 unless a test says otherwise), no proxy, and a package index that cannot be reached, so
 * anything that tried pip or the network on first start would fail.
 */
export function cleanMachineEnv(base: NodeJS.ProcessEnv, pathDirs: string[], closedIndexPort: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const key of Object.keys(env)) {
    if (/^(https?|all|no|ftp)_proxy$/i.test(key) || /^PIP_|^PYTHON|^VIRTUAL_ENV$|^PYENV/.test(key)) delete env[key];
  }
  const index = `http://127.0.0.1:${closedIndexPort}/simple`;
  return {
    ...env,
    PATH: [...pathDirs, path.dirname(process.execPath)].join(path.delimiter),
    PIP_INDEX_URL: index,
    PIP_EXTRA_INDEX_URL: index,
    PIP_CONFIG_FILE: os.devNull,
    // code-server otherwise re-reads the environment from a login shell, whose profile rewrites PATH.
    VSCODE_CLI: '1',
  };
}

export function installExtension(dirs: CodeServerDirs, env: NodeJS.ProcessEnv): void {
  const r = spawnSync(CODE_SERVER, ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions, '--install-extension', VSIX], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0 || !/successfully installed/.test(r.stdout)) {
    throw new Error(`code-server --install-extension ${VSIX} failed (${String(r.status)}):\n${r.stdout}\n${r.stderr}`);
  }
}

export function writeUserSettings(dirs: CodeServerDirs, settings: Record<string, unknown>): void {
  const dir = path.join(dirs.userData, 'User');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

/** `workspaceTrust`: keep VS Code's workspace trust on (folders open in Restricted Mode unless trusted). */
export async function startCodeServer(dirs: CodeServerDirs, env: NodeJS.ProcessEnv, options: { workspaceTrust?: boolean } = {}): Promise<{ proc: Proc; url: string }> {
  const trust = options.workspaceTrust ? [] : ['--disable-workspace-trust'];
  const args = ['--bind-addr', '127.0.0.1:0', '--auth', 'none', '--disable-telemetry', '--disable-update-check', ...trust, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
  const child = spawn(CODE_SERVER, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new Proc(child, 'code-server');
  child.stdout?.on('data', (d: Buffer) => proc.output.push(d.toString()));
  const m = await firstLine(proc, /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)\//, 60_000);
  return { proc, url: m[1] ?? '' };
}

export async function launchBrowser(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

export function tempRoot(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'aitk-e2e-'));
}

/** Files under `root` whose name matches, newest first. */
export function findFiles(root: string, name: RegExp): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (name.test(entry.name)) out.push(p);
    }
  };
  if (existsSync(root)) walk(root);
  return out.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

/** Monaco renders spaces as U+00A0. */
export function plain(text: string): string {
  return text.replace(/\u00a0/g, ' ');
}

/** Stops `eventually` at once. */
export class FatalError extends Error {}

export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof FatalError) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Drives the VS Code workbench the way a user does. */
export class Workbench {
  private shot = 0;
  constructor(readonly page: Page) {}

  async screenshot(name: string): Promise<string> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const safe = name.replace(/[^\w.-]+/g, '-');
    const file = path.join(ARTIFACTS, `${String(++this.shot).padStart(2, '0')}-${safe}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  async open(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 120_000 });
  }

  get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /** Runs a command from the palette by its full title. Retried: right after the workbench renders,
   * the palette may not list the extension's commands yet. */
  async runCommand(title: string, screenshotName?: string): Promise<void> {
    await eventually(
      `the command palette to list "${title}"`,
      async () => {
        await this.page.keyboard.press('Escape');
        await this.page.keyboard.press('F1');
        const box = this.quickInput.locator('input');
        await box.waitFor({ state: 'visible', timeout: 10_000 });
        await box.fill(`>${title}`);
        const row = this.quickInput.locator('.monaco-list-row', { hasText: title }).first();
        try {
          await row.waitFor({ state: 'visible', timeout: 3_000 });
        } catch {
          return undefined;
        }
        if (screenshotName) await this.screenshot(screenshotName);
        await row.click();
        return true;
      },
      90_000,
      1_000,
    );
  }

  /** Waits for a quick pick with this title (a regexp on the title text) to be shown. */
  async waitForQuickInput(title: RegExp, timeoutMs = 120_000): Promise<void> {
    await eventually(
      `a picker titled ${title}`,
      async () => {
        if (!(await this.quickInput.isVisible())) return undefined;
        const text = plain(await this.quickInput.locator('.quick-input-title').innerText());
        return title.test(text) ? true : undefined;
      },
      timeoutMs,
      250,
    );
  }

  /** A RegExp label is matched against the item's label alone (not its description or group). */
  async pickItem(title: RegExp, label: string | RegExp, screenshotName?: string): Promise<void> {
    await this.waitForQuickInput(title);
    const rows = this.quickInput.locator('.monaco-list-row');
    const row = (typeof label === 'string' ? rows.filter({ hasText: label }) : rows.filter({ has: this.page.locator('.label-name', { hasText: label }) })).first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    if (screenshotName) await this.screenshot(screenshotName);
    await row.click();
  }

  async answerInput(title: RegExp, text: string): Promise<void> {
    await this.waitForQuickInput(title);
    const box = this.quickInput.locator('input');
    await box.fill(text);
    await box.press('Enter');
  }

  notification(text: string | RegExp): Locator {
    return this.page.locator('.notification-toast', { hasText: text }).first();
  }

  async clickNotificationButton(text: string | RegExp, button: string, timeoutMs = 180_000): Promise<void> {
    const toast = this.notification(text);
    await toast.waitFor({ state: 'visible', timeout: timeoutMs });
    await toast.locator('.monaco-button', { hasText: button }).first().click();
  }

  /** Error notifications on screen (their text), e.g. the server's plain-words failure. */
  async errors(): Promise<string[]> {
    return (await this.page.locator('.notification-toast:has(.codicon-error)').allInnerTexts()).map(plain);
  }

  /** Waits for any notification (error ones included) with this text. */
  async waitForNotificationText(text: string | RegExp, timeoutMs: number): Promise<Locator> {
    const toast = this.notification(text);
    await toast.waitFor({ state: 'visible', timeout: timeoutMs });
    return toast;
  }

  /** Waits for a notification with this text; fails at once, with its words, on an error one. */
  async waitForNotification(text: string | RegExp, timeoutMs: number): Promise<Locator> {
    const toast = this.notification(text);
    await eventually(
      `a notification ${String(text)}`,
      async () => {
        if (await toast.isVisible()) return true;
        const errors = await this.errors();
        if (errors.length) throw new FatalError(`error notification instead: ${errors.join(' | ')}`);
        return undefined;
      },
      timeoutMs,
      300,
    );
    return toast;
  }

  /**
   * Polls until `done` holds, collecting the distinct texts of the progress notification titled
   * `title` and screenshotting it once it has been on screen a moment (past its fade-in).
   */
  async watchProgress(title: string, shotName: string, done: () => Promise<boolean>, timeoutMs: number): Promise<{ texts: string[]; screenshot?: string }> {
    const texts = new Set<string>();
    let firstSeen = 0;
    let screenshot: string | undefined;
    const toast = this.notification(title);
    await eventually(
      `"${title}" to finish`,
      async () => {
        if (await done()) return true;
        const errors = await this.errors();
        if (errors.length) throw new FatalError(`error notification: ${errors.join(' | ')}`);
        if (await toast.isVisible()) {
          texts.add(plain(await toast.innerText()).trim());
          firstSeen ||= Date.now();
          if (!screenshot && Date.now() - firstSeen > 700) screenshot = await this.screenshot(shotName);
        }
        return undefined;
      },
      timeoutMs,
      200,
    );
    return screenshot ? { texts: [...texts], screenshot } : { texts: [...texts] };
  }

  /** The text of every notification toast on screen. */
  async notificationTexts(): Promise<string[]> {
    return (await this.page.locator('.notification-toast').allInnerTexts()).map(plain);
  }
}
