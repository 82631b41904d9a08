import assert from 'node:assert/strict';
import { constants as fsConstants } from 'node:fs';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openConfirmed } from './open-confirmed.ts';
import { PathPolicy } from './path-policy.ts';

describe('openConfirmed', () => {
  let root = '';
  let allowed = '';
  let outside = '';
  let policy: PathPolicy;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-open-')));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    await mkdir(allowed);
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'secret');
    policy = new PathPolicy([allowed]);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('opens a checked file inside the policy', async () => {
    await writeFile(join(allowed, 'plain'), 'plain');
    const fh = await openConfirmed(policy, await policy.check(join(allowed, 'plain')), fsConstants.O_RDONLY);
    try {
      assert.equal(await fh.readFile('utf8'), 'plain');
    } finally {
      await fh.close();
    }
  });

  test('a final component replaced by a symlink after the check fails with PATH_DENIED (O_NOFOLLOW)', async () => {
    const p = join(allowed, 'swapped');
    await writeFile(p, 'mine');
    const resolved = await policy.check(p);
    await rm(p);
    await symlink(join(outside, 'secret'), p);
    await assert.rejects(
      openConfirmed(policy, resolved, fsConstants.O_RDONLY),
      (err: Error & { code?: string; details?: unknown }) => {
        assert.equal(err.code, 'PATH_DENIED');
        assert.match(err.message, /symbolic link appeared in .*swapped after it was checked/);
        assert.deepEqual(err.details, { path: resolved });
        return true;
      },
    );
    // Even a symlink that stays inside is refused: the checked path had none there.
    await rm(p);
    await writeFile(join(allowed, 'other'), 'other');
    await symlink(join(allowed, 'other'), p);
    await assert.rejects(openConfirmed(policy, resolved, fsConstants.O_RDONLY), { code: 'PATH_DENIED' });
  });

  test('a directory component replaced by a symlink after the check is caught by the confirm', async () => {
    const dir = join(allowed, 'dir');
    await mkdir(dir);
    await writeFile(join(dir, 'secret'), 'inside');
    const resolved = await policy.check(join(dir, 'secret'));
    await rename(dir, join(allowed, 'dir-moved'));
    await symlink(outside, dir);
    await assert.rejects(openConfirmed(policy, resolved, fsConstants.O_RDONLY), { code: 'PATH_DENIED' });
  });
});
