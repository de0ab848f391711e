// package.json contributes exactly the commands and settings the code names.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { COMMANDS, CONFIG_KEYS, fullKey } from '../src/settings';

interface Manifest {
  contributes: { commands: { command: string; title: string }[]; configuration: { properties: Record<string, unknown> } };
  capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
}

const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as Manifest;

describe('package.json', () => {
  it('contributes every command in COMMANDS, and no other', () => {
    assert.deepEqual(manifest.contributes.commands.map((c) => c.command).sort(), Object.values(COMMANDS).sort());
    const restart = manifest.contributes.commands.find((c) => c.command === COMMANDS.restartServer);
    assert.equal(restart?.title, 'Restart Inference Server');
  });

  it('contributes every setting in CONFIG_KEYS, and no other', () => {
    assert.deepEqual(Object.keys(manifest.contributes.configuration.properties).sort(), Object.values(CONFIG_KEYS).map(fullKey).sort());
  });

  it('settings that run programs are restricted in untrusted workspaces', () => {
    assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, [fullKey(CONFIG_KEYS.python), fullKey(CONFIG_KEYS.tokenCommand)]);
  });
});
