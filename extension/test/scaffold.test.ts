import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scaffold } from '../src/scaffold';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'aitk-tpl-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return root;
}

describe('scaffold', () => {
  it('copies infra/ and inference/ without overwriting, skipping build leftovers', async () => {
    const template = tree({
      'infra/provision/inference.bicep': 'template bicep',
      'infra/inference.config.json': '{"ACA_APP_NAME": null}',
      'inference/app.py': 'template app',
      'inference/__pycache__/app.cpython-311.pyc': 'x',
    });
    const workspace = tree({ 'inference/app.py': 'my edited app' });
    const result = await scaffold(template, workspace);
    assert.deepEqual(result.created.sort(), ['infra/inference.config.json', 'infra/provision/inference.bicep']);
    assert.deepEqual(result.kept, ['inference/app.py']);
    assert.equal(readFileSync(path.join(workspace, 'inference/app.py'), 'utf8'), 'my edited app');
    assert.equal(readFileSync(path.join(workspace, 'infra/provision/inference.bicep'), 'utf8'), 'template bicep');
    assert.throws(() => readFileSync(path.join(workspace, 'inference/__pycache__/app.cpython-311.pyc')));
  });

  it('says which template folder is missing', async () => {
    const template = tree({ 'infra/a.txt': 'a' });
    await assert.rejects(scaffold(template, tree({})), /template folder .*inference is missing; reinstall/);
  });
});
