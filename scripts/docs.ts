// `npm run docs`: writes the generated reference pages; `--check` only reports stale ones (exit 1).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generatedDocs } from './docs/generated-docs.ts';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const [path, text] of Object.entries(generatedDocs())) {
  const full = join(root, path);
  const current = await readFile(full, 'utf8').catch(() => '');
  if (current === text) continue;
  if (check) {
    stale += 1;
    process.stderr.write(`${path} is stale: run npm run docs\n`);
  } else {
    await writeFile(full, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
