import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { PathPolicy } from './path-policy.ts';
import { readAllowedChecked, readAllowedFile } from './read-allowed-file.ts';

describe('readAllowedFile', () => {
  let root = '';
  let allowed = '';
  let outside = '';
  let dir = '';
  let policy: PathPolicy;
  let n = 0;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-read-allowed-')));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    await mkdir(allowed);
    policy = new PathPolicy([allowed]);
  });
  beforeEach(async () => {
    n += 1;
    dir = join(allowed, `case-${n}`, 'dir');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'f'), 'inside');
    await rm(outside, { recursive: true, force: true });
    await mkdir(outside);
    await writeFile(join(outside, 'f'), 'outside secret');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a file inside is read whole; one outside is PATH_DENIED', async () => {
    assert.equal((await readAllowedFile(policy, join(dir, 'f'), 1024)).toString(), 'inside');
    await assert.rejects(readAllowedFile(policy, join(outside, 'f'), 1024), { code: 'PATH_DENIED' });
  });

  test('a directory component swapped for a symlink after the check is PATH_DENIED', async () => {
    const p = join(dir, 'f');
    const resolved = await policy.check(p);
    await rename(dir, `${dir}-moved`);
    await symlink(outside, dir);
    await assert.rejects(readAllowedChecked(policy, p, resolved, 1024), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PATH_DENIED');
      assert.doesNotMatch(err.message, /outside secret/);
      return true;
    });
  });

  test('the file itself swapped for a symlink after the check is PATH_DENIED', async () => {
    const p = join(dir, 'f');
    const resolved = await policy.check(p);
    await rm(p);
    await symlink(join(outside, 'f'), p);
    await assert.rejects(readAllowedChecked(policy, p, resolved, 1024), {
      code: 'PATH_DENIED',
      message: /symbolic link appeared/,
    });
  });

  test('over maxBytes is FILE_TOO_LARGE; exactly maxBytes is read', async () => {
    const p = join(dir, 'f');
    assert.equal((await readAllowedFile(policy, p, 6)).length, 6);
    await assert.rejects(readAllowedFile(policy, p, 5), { code: 'FILE_TOO_LARGE' });
  });

  test('a directory or a FIFO is INVALID_ARGUMENT (the FIFO is not opened, nothing hangs)', async () => {
    await assert.rejects(readAllowedFile(policy, dir, 1024), { code: 'INVALID_ARGUMENT' });
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(readAllowedFile(policy, fifo, 1024), {
      code: 'INVALID_ARGUMENT',
      message: /not a regular file/,
    });
  });

  test("a missing file is Node's own ENOENT, for the caller to word", async () => {
    await assert.rejects(readAllowedFile(policy, join(dir, 'nope'), 1024), { code: 'ENOENT' });
  });
});
