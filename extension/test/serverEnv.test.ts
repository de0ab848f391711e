import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { RestartPolicy, serverEnvironment } from '../src/lifecycle';
import { ignoredMessage, keysInSettingsFiles, TRUSTED_ONLY, workspaceOverrides } from '../src/trustedSettings';
import { bundleFingerprint, type Exec, type ExecResult, ensureServerPython, ServerStartError, venvPython } from '../src/serverEnv';

function extensionRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'aitk-ext-'));
  writeFileSync(path.join(root, 'pyproject.toml'), '[project]\nname = "aitk-inference"\nversion = "0.1.0"\n');
  writeFileSync(path.join(root, 'README.md'), '# readme\n');
  mkdirSync(path.join(root, 'server', 'aitk_inference', '__pycache__'), { recursive: true });
  writeFileSync(path.join(root, 'server', 'aitk_inference', '__init__.py'), '');
  writeFileSync(path.join(root, 'server', 'aitk_inference', '__pycache__', 'x.pyc'), '');
  return root;
}

type Answer = Partial<ExecResult> | ((args: string[]) => Partial<ExecResult>);

/** An Exec that answers by the first matching argument pattern and records every call. */
function scriptedExec(answers: [RegExp, Answer][], calls: string[][]): Exec {
  return async (command, args) => {
    calls.push([command, ...args]);
    const line = [command, ...args].join(' ');
    for (const [re, answer] of answers) {
      if (re.test(line)) {
        const a = typeof answer === 'function' ? answer(args) : answer;
        return { code: 0, stdout: '', stderr: '', ...a };
      }
    }
    return { code: 0, stdout: '', stderr: '' };
  };
}

function options(root: string, storage: string, exec: Exec, log: string[] = []) {
  let progressShown = 0;
  return {
    opts: {
      basePython: '/usr/bin/python3',
      source: 'PATH',
      extensionRoot: root,
      storageDir: storage,
      exec,
      log: (l: string) => log.push(l),
      withInstallProgress: <T>(task: (report: (m: string) => void) => Promise<T>) => {
        progressShown++;
        return task(() => undefined);
      },
    },
    progressShown: () => progressShown,
  };
}

describe('server environment', () => {
  it('refuses a Python older than 3.11 in plain words', async () => {
    const calls: string[][] = [];
    const exec = scriptedExec([[/sys\.version_info/, { stdout: '3.9\n' }]], calls);
    const { opts } = options(extensionRoot(), mkdtempSync(path.join(os.tmpdir(), 'aitk-st-')), exec);
    await assert.rejects(ensureServerPython(opts), (err: Error) => err instanceof ServerStartError && /needs Python 3\.11\+, but "\/usr\/bin\/python3" \(from PATH\) is 3\.9/.test(err.message));
  });

  it('uses an interpreter that already has this server version as is', async () => {
    const calls: string[][] = [];
    const exec = scriptedExec([[/sys\.version_info/, { stdout: '3.11\n' }], [/importlib\.metadata/, { stdout: '0.1.0\n' }]], calls);
    const { opts, progressShown } = options(extensionRoot(), mkdtempSync(path.join(os.tmpdir(), 'aitk-st-')), exec);
    assert.equal(await ensureServerPython(opts), '/usr/bin/python3');
    assert.equal(progressShown(), 0);
    assert.ok(!calls.some((c) => c.includes('venv')));
  });

  it('creates the venv and pip-installs a copy of the bundle once, then reuses it', async () => {
    const root = extensionRoot();
    const storage = mkdtempSync(path.join(os.tmpdir(), 'aitk-st-'));
    const calls: string[][] = [];
    let copied: string[] = [];
    const exec = scriptedExec(
      [
        [/sys\.version_info/, { stdout: '3.12\n' }],
        [/importlib\.metadata/, { stdout: '' }],
        [
          /-m venv/,
          (args) => {
            mkdirSync(path.dirname(venvPython(args[2] ?? '')), { recursive: true });
            return {};
          },
        ],
        [
          /-m pip install/,
          (args) => {
            const src = args[args.length - 1] ?? '';
            copied = [readFileSync(path.join(src, 'pyproject.toml'), 'utf8').includes('aitk-inference') ? 'pyproject' : '', readFileSync(path.join(src, 'server', 'aitk_inference', '__init__.py'), 'utf8') === '' ? 'package' : ''];
            return {};
          },
        ],
      ],
      calls,
    );
    const first = options(root, storage, exec);
    const python = await ensureServerPython(first.opts);
    assert.equal(python, venvPython(path.join(storage, 'server-venv-0.1.0')));
    assert.equal(first.progressShown(), 1);
    assert.deepEqual(copied, ['pyproject', 'package']);
    assert.equal(readFileSync(path.join(storage, 'server-venv-0.1.0', '.aitk-installed'), 'utf8'), await bundleFingerprint(root));

    calls.length = 0;
    const second = options(root, storage, exec);
    assert.equal(await ensureServerPython(second.opts), python);
    assert.equal(second.progressShown(), 0);
    assert.ok(!calls.some((c) => c.includes('pip')), 'no second install');
  });

  it('a failed pip install names the folder, the step and what to do', async () => {
    const calls: string[][] = [];
    const log: string[] = [];
    const exec = scriptedExec(
      [
        [/sys\.version_info/, { stdout: '3.11\n' }],
        [/-m pip install/, { code: 1, stderr: 'ERROR: Could not find a version that satisfies the requirement pygls==2.1.1\n' }],
      ],
      calls,
    );
    const storage = mkdtempSync(path.join(os.tmpdir(), 'aitk-st-'));
    const { opts } = options(extensionRoot(), storage, exec, log);
    await assert.rejects(ensureServerPython(opts), (err: Error) => {
      assert.ok(err instanceof ServerStartError);
      assert.match(err.message, /Could not install the AI Toolkit inference server into .*server-venv-0\.1\.0: pip install failed: ERROR: Could not find a version/);
      assert.match(err.message, /aitk\.inference\.python/);
      return true;
    });
    assert.ok(log.some((l) => l.includes('pygls==2.1.1')), 'the full pip output goes to the log');
  });
});

describe('restarts and environment', () => {
  it('restarts up to the limit within the window, then gives up; old crashes age out', () => {
    let now = 0;
    const policy = new RestartPolicy(3, 60_000, () => now);
    assert.deepEqual([policy.shouldRestart(), policy.shouldRestart(), policy.shouldRestart(), policy.shouldRestart()], [true, true, true, false]);
    now = 120_000;
    assert.equal(policy.shouldRestart(), true);
  });

  it("passes the user's cloud, ARM endpoint and CA bundle settings to the server", () => {
    const config = inspectable({ cloud: { globalValue: 'AzureUSGovernment' }, armEndpoint: { globalValue: 'https://127.0.0.1:4443/' }, caBundle: { globalValue: '/tmp/ca.pem' } });
    const env = serverEnvironment(config, { PATH: '/bin' });
    assert.equal(env.AZURE_CLOUD, 'AzureUSGovernment');
    assert.equal(env.AZURE_RESOURCE_MANAGER_ENDPOINT, 'https://127.0.0.1:4443/');
    assert.equal(env.REQUESTS_CA_BUNDLE, '/tmp/ca.pem');
    assert.equal(env.SSL_CERT_FILE, '/tmp/ca.pem');
    const inherited = serverEnvironment(inspectable({}), { AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://x' });
    assert.equal(inherited.AZURE_RESOURCE_MANAGER_ENDPOINT, 'https://x');
  });

  it('ignores workspace and folder values of the settings that decide where tokens go', () => {
    const config = inspectable({
      armEndpoint: { workspaceValue: 'https://attacker.example', globalValue: 'https://arm.user.example' },
      caBundle: { workspaceFolderValue: '/repo/evil-ca.pem' },
      cloud: { workspaceValue: 'AzureChinaCloud' },
    });
    const env = serverEnvironment(config, {});
    assert.equal(env.AZURE_RESOURCE_MANAGER_ENDPOINT, 'https://arm.user.example');
    assert.equal(env.REQUESTS_CA_BUNDLE, undefined);
    assert.equal(env.SSL_CERT_FILE, undefined);
    assert.equal(env.AZURE_CLOUD, undefined);
    assert.deepEqual(workspaceOverrides(config), ['aitk.inference.cloud', 'aitk.inference.armEndpoint', 'aitk.inference.caBundle']);
    assert.equal(
      ignoredMessage(workspaceOverrides(config)),
      'Ignored aitk.inference.cloud, aitk.inference.armEndpoint, aitk.inference.caBundle from the workspace settings: where the Azure token goes and which certificate authorities are trusted are taken from your user settings only.',
    );
    assert.deepEqual(workspaceOverrides(inspectable({ armEndpoint: { globalValue: 'https://arm.user.example' } })), []);
  });

  it('finds those settings in workspace settings files, for the notice (VS Code drops them before inspect)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aitk-ws-'));
    const file = path.join(dir, 'settings.json');
    writeFileSync(file, '{\n  // the author\'s\n  "aitk.inference.caBundle" : "/x.pem",\n  "aitk.inference.armEndpoint": "https://evil",\n  "aitk.inference.python": "p"\n}');
    assert.deepEqual(await keysInSettingsFiles([file, path.join(dir, 'missing.json')]), ['aitk.inference.armEndpoint', 'aitk.inference.caBundle']);
    assert.deepEqual(await keysInSettingsFiles([path.join(dir, 'missing.json')]), []);
  });

  it('declares those settings machine-scoped and restricted in package.json', () => {
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { scope?: string }> } };
      capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
    };
    for (const key of TRUSTED_ONLY) {
      assert.equal(pkg.contributes.configuration.properties[`aitk.inference.${key}`]?.scope, 'machine', key);
      assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(`aitk.inference.${key}`), key);
    }
  });
});

function inspectable(values: Record<string, Record<string, string>>): vscode.WorkspaceConfiguration {
  return { inspect: (key: string) => ({ key, ...values[key] }) } as unknown as vscode.WorkspaceConfiguration;
}
