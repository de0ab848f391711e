// "Create inference project files": copy the bundled template (infra/, inference/) into a
// workspace folder, never overwriting a file that is already there.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export const TEMPLATE_FOLDERS = ['infra', 'inference'];

/** Build leftovers that are never part of the template. */
const SKIP = new Set(['__pycache__', '.DS_Store']);

export interface ScaffoldResult {
  created: string[];
  kept: string[];
}

async function copyNoOverwrite(src: string, dest: string, rel: string, result: ScaffoldResult): Promise<void> {
  const entries = await fs.readdir(src, { withFileTypes: true });
  await fs.mkdir(dest, { recursive: true });
  for (const entry of entries) {
    if (SKIP.has(entry.name)) continue;
    const from = path.join(src, entry.name);
    const to = path.join(dest, entry.name);
    const relPath = path.posix.join(rel, entry.name);
    if (entry.isDirectory()) {
      await copyNoOverwrite(from, to, relPath, result);
    } else if (entry.isFile()) {
      try {
        // COPYFILE_EXCL: fails if the file exists, so a concurrent edit is never clobbered either.
        await fs.copyFile(from, to, fs.constants.COPYFILE_EXCL);
        result.created.push(relPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        result.kept.push(relPath);
      }
    }
  }
}

export async function scaffold(templateRoot: string, workspaceRoot: string, folders = TEMPLATE_FOLDERS): Promise<ScaffoldResult> {
  const result: ScaffoldResult = { created: [], kept: [] };
  for (const folder of folders) {
    const src = path.join(templateRoot, folder);
    try {
      await fs.access(src);
    } catch {
      throw new Error(`The extension's template folder ${src} is missing; reinstall the extension.`);
    }
    await copyNoOverwrite(src, path.join(workspaceRoot, folder), folder, result);
  }
  return result;
}
