import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { ApiKeyStore, configuredApp, copyApiKey, parseApiKeyResult } from '../src/apiKey';
import { redactSecrets } from '../src/redact';

const APP = { subscriptionId: 'SUB-1', resourceGroup: 'rg-A', appName: 'app1' };

class MemorySecrets {
  readonly values = new Map<string, string>();
  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.values.get(key));
  }
  store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    return Promise.resolve();
  }
}

async function projectWithConfig(config: Record<string, unknown> | undefined): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'aitk-apikey-'));
  await fs.mkdir(path.join(dir, 'infra'));
  if (config) await fs.writeFile(path.join(dir, 'infra', 'inference.config.json'), JSON.stringify(config));
  return dir;
}

function deps(secrets: MemorySecrets, folder: string, fetch: () => Promise<unknown>) {
  const said = { copied: [] as string[], info: [] as string[], error: [] as string[] };
  return {
    said,
    deps: {
      fetch,
      store: new ApiKeyStore(secrets as unknown as vscode.SecretStorage),
      folder,
      copy: (text: string) => {
        said.copied.push(text);
        return Promise.resolve();
      },
      info: (m: string) => said.info.push(m),
      error: (m: string) => said.error.push(m),
    },
  };
}

describe('API key', () => {
  it('reads the api-key command result only when it is complete', () => {
    assert.deepEqual(parseApiKeyResult({ ...APP, apiKey: 'k', rotated: false }), { ...APP, apiKey: 'k' });
    assert.equal(parseApiKeyResult({ ...APP }), undefined);
    assert.equal(parseApiKeyResult({ ...APP, apiKey: '' }), undefined);
    assert.equal(parseApiKeyResult('k'), undefined);
  });

  it('stores one entry per subscription/resource group/app, case-insensitively', () => {
    assert.equal(ApiKeyStore.key(APP), 'aitk.inference.apikey/sub-1/rg-a/app1');
    assert.equal(ApiKeyStore.key({ ...APP, resourceGroup: 'RG-a' }), ApiKeyStore.key(APP));
    assert.notEqual(ApiKeyStore.key({ ...APP, appName: 'app2' }), ApiKeyStore.key(APP));
  });

  it('copies the key the server read, stores it, and masks it from then on', async () => {
    const secrets = new MemorySecrets();
    const key = 'fetched-key-0123456789abcdef';
    const { said, deps: d } = deps(secrets, await projectWithConfig(undefined), () => Promise.resolve({ ...APP, apiKey: key }));
    assert.equal(await copyApiKey(d), true);
    assert.deepEqual(said.copied, [key]);
    assert.deepEqual(said.info, ['AI Toolkit: the API key of app1 is on the clipboard.']);
    assert.equal(secrets.values.get(ApiKeyStore.key(APP)), key);
    assert.equal(redactSecrets(`x ${key} y`), 'x *** y');
  });

  it('falls back to the stored key of the configured app when the server cannot read it', async () => {
    const secrets = new MemorySecrets();
    secrets.values.set(ApiKeyStore.key(APP), 'stored-key-0123456789abcdef');
    const folder = await projectWithConfig({ SUBSCRIPTION_ID: 'SUB-1', RESOURCE_GROUP_NAME: 'rg-A', ACA_APP_NAME: 'app1' });
    const { said, deps: d } = deps(secrets, folder, () => Promise.resolve(undefined));
    assert.equal(await copyApiKey(d), true);
    assert.deepEqual(said.copied, ['stored-key-0123456789abcdef']);
    assert.deepEqual(said.info, [
      'AI Toolkit: could not read the current API key of app1; copied the one stored in VS Code (it may be out of date if the key was rotated).',
    ]);
  });

  it('says so when there is neither', async () => {
    const folder = await projectWithConfig({ SUBSCRIPTION_ID: 'SUB-1', RESOURCE_GROUP_NAME: 'rg-A', ACA_APP_NAME: 'app1' });
    const { said, deps: d } = deps(new MemorySecrets(), folder, () => Promise.reject(new Error('offline')));
    assert.equal(await copyApiKey(d), false);
    assert.deepEqual(said.copied, []);
    assert.deepEqual(said.error, [
      'AI Toolkit: could not read the API key, and none is stored in VS Code for this project. The AI Toolkit output says why; `aitk-inference api-key` prints it too.',
    ]);
  });

  it('reads the app from infra/inference.config.json only when it is filled in', async () => {
    assert.deepEqual(await configuredApp(await projectWithConfig({ SUBSCRIPTION_ID: 'SUB-1', RESOURCE_GROUP_NAME: 'rg-A', ACA_APP_NAME: 'app1' })), APP);
    assert.equal(await configuredApp(await projectWithConfig({ SUBSCRIPTION_ID: 'SUB-1', RESOURCE_GROUP_NAME: null, ACA_APP_NAME: 'app1' })), undefined);
    assert.equal(await configuredApp(await projectWithConfig(undefined)), undefined);
  });
});
