// Bundles the extension (dist/extension.js) or, with --tests, the unit tests (out/unit/), where
// `vscode` resolves to the mock in extension/test/mock/vscode.ts.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', absWorkingDir: root };

if (process.argv.includes('--e2e')) {
  const e2eDir = path.join(root, 'tests', 'e2e');
  await esbuild.build({
    ...common,
    entryPoints: readdirSync(e2eDir).filter((f) => f.endsWith('.e2e.test.ts')).map((f) => path.join(e2eDir, f)),
    outdir: path.join(root, 'out', 'e2e'),
    sourcemap: 'inline',
    external: ['mocha', 'playwright-core'],
  });
} else if (process.argv.includes('--tests')) {
  const testDir = path.join(root, 'extension', 'test');
  const entryPoints = readdirSync(testDir).filter((f) => f.endsWith('.test.ts')).map((f) => path.join(testDir, f));
  await esbuild.build({
    ...common,
    entryPoints,
    outdir: path.join(root, 'out', 'unit'),
    sourcemap: 'inline',
    alias: { vscode: './extension/test/mock/vscode.ts' },
    external: ['mocha'],
  });
} else {
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'extension', 'src', 'extension.ts')],
    outfile: path.join(root, 'dist', 'extension.js'),
    external: ['vscode'],
    minify: process.argv.includes('--minify'),
    sourcemap: false,
  });
}
