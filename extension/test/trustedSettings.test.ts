import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { ignoredMessage, keysInSettingsFiles, TRUSTED_ONLY, withTrustedValues, workspaceOverrides } from '../src/trustedSettings';

describe('trusted settings (where tokens go, which CAs are trusted)', () => {
  it("answers the server's workspace/configuration with the user's cloud, ARM endpoint and CA bundle", () => {
    const config = inspectable({ cloud: { globalValue: 'AzureUSGovernment' }, armEndpoint: { globalValue: 'https://127.0.0.1:4443/' }, caBundle: { globalValue: '/tmp/ca.pem' } });
    const resolved = { python: '/usr/bin/python3', cloud: 'AzureUSGovernment', armEndpoint: 'https://127.0.0.1:4443/', caBundle: '/tmp/ca.pem' };
    assert.deepEqual(withTrustedValues(resolved, config), resolved);
    assert.deepEqual(withTrustedValues({ python: '' }, inspectable({})), { python: '', cloud: '', armEndpoint: '', caBundle: '' });
    assert.equal(withTrustedValues(null, config), null);
  });

  it('ignores workspace and folder values of the settings that decide where tokens go', () => {
    const config = inspectable({
      armEndpoint: { workspaceValue: 'https://attacker.example', globalValue: 'https://arm.user.example' },
      caBundle: { workspaceFolderValue: '/repo/evil-ca.pem' },
      cloud: { workspaceValue: 'AzureChinaCloud' },
    });
    // What VS Code would resolve if the scopes were not enforced: the workspace's values.
    const resolved = { cloud: 'AzureChinaCloud', armEndpoint: 'https://attacker.example', caBundle: '/repo/evil-ca.pem', tokenCommand: '' };
    assert.deepEqual(withTrustedValues(resolved, config), { cloud: '', armEndpoint: 'https://arm.user.example', caBundle: '', tokenCommand: '' });
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
