import assert from 'node:assert/strict';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { PathPolicy } from '../path-policy.ts';
import { listChecked } from './list-files.ts';
import { readChecked } from './read-file.ts';
import { writeChecked } from './write-file.ts';

/**
 * The check-then-use race of the file handlers, run deterministically: each test checks a path,
 * then swaps a component for a symlink leading outside the allowed root (as a local user who can
 * write under it could, between the check and the open), then runs the handler's step after the
 * check. The open file's descriptor must give the swap away.
 */
describe('file handlers against a symlink swapped in after the check', () => {
  let root = '';
  let allowed = '';
  let outside = '';
  let dir = '';
  let policy: PathPolicy;
  let n = 0;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-swap-')));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    await mkdir(allowed);
    policy = new PathPolicy([allowed]);
  });
  beforeEach(async () => {
    n += 1;
    dir = join(allowed, `case-${n}`, 'dir');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'f.txt'), 'inside');
    await rm(outside, { recursive: true, force: true });
    await mkdir(outside);
    await writeFile(join(outside, 'f.txt'), 'outside secret');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Moves `dir` aside and puts a symlink to `outside` in its place. */
  const swapDir = async () => {
    await rename(dir, `${dir}-moved`);
    await symlink(outside, dir);
  };

  test('read_file: unswapped, the file is read', async () => {
    const p = join(dir, 'f.txt');
    const r = await readChecked(policy, p, await policy.check(p), 1024);
    assert.equal(r.content, 'inside');
  });

  test('read_file: a directory component swapped after the check is PATH_DENIED', async () => {
    const p = join(dir, 'f.txt');
    const resolved = await policy.check(p);
    await swapDir();
    await assert.rejects(readChecked(policy, p, resolved, 1024), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PATH_DENIED');
      assert.doesNotMatch(err.message, /outside secret/);
      return true;
    });
  });

  test('read_file: the file itself swapped for a symlink after the check is PATH_DENIED', async () => {
    const p = join(dir, 'f.txt');
    const resolved = await policy.check(p);
    await rm(p);
    await symlink(join(outside, 'f.txt'), p);
    await assert.rejects(readChecked(policy, p, resolved, 1024), {
      code: 'PATH_DENIED',
      message: /symbolic link appeared/,
    });
  });

  test('write_file: unswapped, the file is replaced', async () => {
    const p = join(dir, 'f.txt');
    await writeChecked(policy, p, await policy.check(p), Buffer.from('new'), undefined);
    assert.equal(await readFile(p, 'utf8'), 'new');
    assert.deepEqual(await readdir(dir), ['f.txt']);
  });

  for (const name of ['f.txt', 'new.txt']) {
    test(`write_file (${name}): a directory component swapped after the check is PATH_DENIED, the temp file removed`, async () => {
      const p = join(dir, name);
      const resolved = await policy.check(p);
      await swapDir();
      await assert.rejects(writeChecked(policy, p, resolved, Buffer.from('evil'), 0o644), {
        code: 'PATH_DENIED',
      });
      assert.deepEqual(await readdir(outside), ['f.txt'], 'no temp file or new file outside');
      assert.equal(await readFile(join(outside, 'f.txt'), 'utf8'), 'outside secret');
      assert.deepEqual(await readdir(`${dir}-moved`), ['f.txt']);
      assert.equal(await readFile(join(`${dir}-moved`, 'f.txt'), 'utf8'), 'inside');
    });
  }

  test('list_files: unswapped, the directory is listed', async () => {
    const r = await listChecked(policy, dir, await policy.check(dir));
    assert.deepEqual(
      r.entries.map((e) => e.name),
      ['f.txt'],
    );
  });

  test('list_files: the directory, or a parent, swapped for a symlink after the check is PATH_DENIED', async () => {
    const resolved = await policy.check(dir);
    await swapDir();
    await assert.rejects(listChecked(policy, dir, resolved), {
      code: 'PATH_DENIED',
      message: /symbolic link appeared/,
    });
    await rm(dir);
    await rename(`${dir}-moved`, dir);
    await mkdir(join(outside, 'dir'));
    const again = await policy.check(dir);
    const parent = join(dir, '..');
    await rename(parent, `${parent}-moved`);
    await symlink(outside, parent);
    await assert.rejects(listChecked(policy, dir, again), {
      code: 'PATH_DENIED',
      message: /outside the allowed paths/,
    });
  });
});
