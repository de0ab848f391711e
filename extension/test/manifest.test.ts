// package.json contributes exactly the commands and settings the code names, and the Python server
// uses the same command ids and setting names.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { COMMANDS, CONFIG_KEYS, CONFIG_SECTION, fullKey, SERVER_COMMANDS } from '../src/settings';

interface Manifest {
  contributes: { commands: { command: string; title: string }[]; configuration: { properties: Record<string, unknown> } };
  capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
}

const REPO = path.join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Manifest;
const serverFile = (rel: string): string => readFileSync(path.join(REPO, 'server', 'aitk_inference', 'lsp', rel), 'utf8');

describe('package.json', () => {
  it('contributes every command in COMMANDS, and no other', () => {
    assert.deepEqual(manifest.contributes.commands.map((c) => c.command).sort(), Object.values(COMMANDS).sort());
    const restart = manifest.contributes.commands.find((c) => c.command === COMMANDS.restartServer);
    assert.equal(restart?.title, 'Restart Inference Server');
  });

  it('contributes every setting in CONFIG_KEYS, and no other', () => {
    assert.deepEqual(Object.keys(manifest.contributes.configuration.properties).sort(), Object.values(CONFIG_KEYS).map(fullKey).sort());
  });

  it('settings that run programs or decide where tokens go are restricted in untrusted workspaces', () => {
    assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, [
      fullKey(CONFIG_KEYS.python),
      fullKey(CONFIG_KEYS.tokenCommand),
      fullKey(CONFIG_KEYS.cloud),
      fullKey(CONFIG_KEYS.armEndpoint),
      fullKey(CONFIG_KEYS.caBundle),
    ]);
  });

  it('the server answers the command ids and reads the settings the extension names', () => {
    // The server registers aitk.inference.server.<name> for each entry of its operations table.
    const table = readFileSync(path.join(REPO, 'server', 'aitk_inference', 'core', 'operations.py'), 'utf8');
    const serverCommands = [...table.matchAll(/\bOperation\(\s*"([\w-]+)"/g)].map((m) => `aitk.inference.server.${m[1] ?? ''}`);
    assert.deepEqual(serverCommands.sort(), Object.values(SERVER_COMMANDS).sort());
    const configuration = serverFile('configuration.py');
    assert.match(configuration, new RegExp(`^SECTION = "${CONFIG_SECTION.replace('.', '\\.')}"$`, 'm'));
    const read = [...configuration.matchAll(/Setting\("(\w+)"/g)].map((m) => m[1] ?? '');
    assert.ok(read.length > 0 && read.every((key) => (Object.values(CONFIG_KEYS) as string[]).includes(key)), `server settings ${read.join(', ')}`);
  });
});
