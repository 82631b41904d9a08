import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { restoreExecutable, stageExecutable, swapExecutable } from './swap-executable.ts';

// The Windows branch is the rename order only (run here on Linux, where a running file could also
// be replaced in place): what it must leave behind is the same on both, and checked the same way.
for (const platform of ['linux', 'win32'] as const) {
  test(`${platform}: stage, swap keeping the previous executable, and restore it`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reach-swap-'));
    try {
      const exe = join(dir, 'reach');
      const artifact = join(dir, 'download');
      await writeFile(exe, 'version A');
      await writeFile(artifact, 'version B');
      await stageExecutable(exe, artifact);
      assert.equal(await readFile(`${exe}.new`, 'utf8'), 'version B');
      assert.equal((await stat(`${exe}.new`)).mode & 0o777, 0o755);
      await swapExecutable(exe, platform);
      assert.equal(await readFile(exe, 'utf8'), 'version B');
      assert.equal(await readFile(`${exe}.prev`, 'utf8'), 'version A');
      await assert.rejects(stat(`${exe}.new`), { code: 'ENOENT' });
      await restoreExecutable(exe, platform);
      assert.equal(await readFile(exe, 'utf8'), 'version A');
      await assert.rejects(stat(`${exe}.prev`), { code: 'ENOENT' });
      if (platform === 'win32') assert.equal(await readFile(`${exe}.failed`, 'utf8'), 'version B');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
