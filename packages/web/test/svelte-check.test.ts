// The root `tsc -p .` sees only .ts files; this typechecks the Svelte components and the UI's
// sources against SvelteKit's generated types (svelte-kit sync, then svelte-check, ~4 s).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { WEB_DIR } from '../../../scripts/build/web-ui.ts';

const BIN = join(WEB_DIR, '..', '..', 'node_modules', '.bin');

test('svelte-check finds no errors in packages/web', () => {
  const sync = spawnSync(join(BIN, 'svelte-kit'), ['sync'], { cwd: WEB_DIR, encoding: 'utf8' });
  assert.equal(sync.status, 0, sync.stderr);
  const r = spawnSync(join(BIN, 'svelte-check'), ['--tsconfig', './tsconfig.json', '--output', 'machine'], {
    cwd: WEB_DIR,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /COMPLETED \d+ FILES 0 ERRORS/);
});
