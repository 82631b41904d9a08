import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { useSwapFixture } from '../../test/helpers/swap-fixture.ts';
import { readAllowedChecked, readAllowedFile } from './read-allowed-file.ts';

describe('readAllowedFile', () => {
  const fx = useSwapFixture('reach-read-allowed-', {
    fill: async ({ dir, outside }) => {
      await writeFile(join(dir, 'f'), 'inside');
      await writeFile(join(outside, 'f'), 'outside secret');
    },
  });

  test('a file inside is read whole; one outside is PATH_DENIED', async () => {
    assert.equal((await readAllowedFile(fx.policy, join(fx.dir, 'f'), 1024)).toString(), 'inside');
    await assert.rejects(readAllowedFile(fx.policy, join(fx.outside, 'f'), 1024), { code: 'PATH_DENIED' });
  });

  test('a directory component swapped for a symlink after the check is PATH_DENIED', async () => {
    const p = join(fx.dir, 'f');
    const resolved = await fx.policy.check(p);
    await fx.swapDir();
    await assert.rejects(
      readAllowedChecked(fx.policy, p, resolved, 1024),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'PATH_DENIED');
        assert.doesNotMatch(err.message, /outside secret/);
        return true;
      },
    );
  });

  test('the file itself swapped for a symlink after the check is PATH_DENIED', async () => {
    const p = join(fx.dir, 'f');
    const resolved = await fx.policy.check(p);
    await rm(p);
    await symlink(join(fx.outside, 'f'), p);
    await assert.rejects(readAllowedChecked(fx.policy, p, resolved, 1024), {
      code: 'PATH_DENIED',
      message: /symbolic link appeared/,
    });
  });

  test('over maxBytes is FILE_TOO_LARGE; exactly maxBytes is read', async () => {
    const p = join(fx.dir, 'f');
    assert.equal((await readAllowedFile(fx.policy, p, 6)).length, 6);
    await assert.rejects(readAllowedFile(fx.policy, p, 5), { code: 'FILE_TOO_LARGE' });
  });

  test('a directory or a FIFO is INVALID_ARGUMENT (the FIFO is not opened, nothing hangs)', async () => {
    await assert.rejects(readAllowedFile(fx.policy, fx.dir, 1024), { code: 'INVALID_ARGUMENT' });
    const fifo = join(fx.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(readAllowedFile(fx.policy, fifo, 1024), {
      code: 'INVALID_ARGUMENT',
      message: /not a regular file/,
    });
  });

  test("a missing file is Node's own ENOENT, for the caller to word", async () => {
    await assert.rejects(readAllowedFile(fx.policy, join(fx.dir, 'nope'), 1024), { code: 'ENOENT' });
  });
});
