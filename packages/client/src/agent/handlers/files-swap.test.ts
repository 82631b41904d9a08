import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { useSwapFixture } from '../../../test/helpers/swap-fixture.ts';
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
  const fx = useSwapFixture('reach-swap-', {
    fill: async ({ dir, outside }) => {
      await writeFile(join(dir, 'f.txt'), 'inside');
      await writeFile(join(outside, 'f.txt'), 'outside secret');
    },
  });

  test('read_file: unswapped, the file is read', async () => {
    const p = join(fx.dir, 'f.txt');
    const r = await readChecked(fx.policy, p, await fx.policy.check(p), { offset: 0 });
    assert.equal(r.content, 'inside');
  });

  test('read_file: a directory component swapped after the check is PATH_DENIED', async () => {
    const p = join(fx.dir, 'f.txt');
    const resolved = await fx.policy.check(p);
    await fx.swapDir();
    await assert.rejects(
      readChecked(fx.policy, p, resolved, { offset: 0 }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'PATH_DENIED');
        assert.doesNotMatch(err.message, /outside secret/);
        return true;
      },
    );
  });

  test('read_file: the file itself swapped for a symlink after the check is PATH_DENIED', async () => {
    const p = join(fx.dir, 'f.txt');
    const resolved = await fx.policy.check(p);
    await rm(p);
    await symlink(join(fx.outside, 'f.txt'), p);
    await assert.rejects(readChecked(fx.policy, p, resolved, { offset: 0 }), {
      code: 'PATH_DENIED',
      message: /symbolic link appeared/,
    });
  });

  test('write_file: unswapped, the file is replaced', async () => {
    const p = join(fx.dir, 'f.txt');
    await writeChecked(fx.policy, p, await fx.policy.check(p), Buffer.from('new'), undefined);
    assert.equal(await readFile(p, 'utf8'), 'new');
    assert.deepEqual(await readdir(fx.dir), ['f.txt']);
  });

  for (const name of ['f.txt', 'new.txt']) {
    test(`write_file (${name}): a directory component swapped after the check is PATH_DENIED, the temp file removed`, async () => {
      const p = join(fx.dir, name);
      const resolved = await fx.policy.check(p);
      await fx.swapDir();
      await assert.rejects(writeChecked(fx.policy, p, resolved, Buffer.from('evil'), 0o644), {
        code: 'PATH_DENIED',
      });
      assert.deepEqual(await readdir(fx.outside), ['f.txt'], 'no temp file or new file outside');
      assert.equal(await readFile(join(fx.outside, 'f.txt'), 'utf8'), 'outside secret');
      assert.deepEqual(await readdir(`${fx.dir}-moved`), ['f.txt']);
      assert.equal(await readFile(join(`${fx.dir}-moved`, 'f.txt'), 'utf8'), 'inside');
    });
  }

  test('write_file: the file swapped for a symlink to a setuid file outside: the link is replaced, its mode not kept', async () => {
    const p = join(fx.dir, 'f.txt');
    const resolved = await fx.policy.check(p);
    const suid = join(fx.outside, 'suid');
    await writeFile(suid, 'outside binary');
    await chmod(suid, 0o4755);
    await rm(p);
    await symlink(suid, p);
    await writeChecked(fx.policy, p, resolved, Buffer.from('new'), undefined);
    const st = await lstat(p);
    assert.ok(st.isFile(), 'the link itself was replaced');
    assert.equal(st.mode & 0o7000, 0, 'no setuid bit taken from the link target');
    assert.equal(await readFile(p, 'utf8'), 'new');
    assert.equal(await readFile(suid, 'utf8'), 'outside binary');
    assert.equal((await lstat(suid)).mode & 0o7777, 0o4755);
  });

  test('write_file with missing parents: a component swapped after the check is PATH_DENIED, nothing made outside', async () => {
    const p = join(fx.dir, 'new-a', 'new-b', 'f.txt');
    const resolved = await fx.policy.check(p);
    await fx.swapDir();
    await assert.rejects(writeChecked(fx.policy, p, resolved, Buffer.from('evil'), 0o644), {
      code: 'PATH_DENIED',
    });
    assert.deepEqual(await readdir(fx.outside), ['f.txt'], 'no directory made outside');
    assert.deepEqual(await readdir(`${fx.dir}-moved`), ['f.txt']);
  });

  test('write_file with missing parents: unswapped, they are made and the file lands', async () => {
    const p = join(fx.dir, 'new-a', 'new-b', 'f.txt');
    await writeChecked(fx.policy, p, await fx.policy.check(p), Buffer.from('deep'), undefined);
    assert.equal(await readFile(p, 'utf8'), 'deep');
  });

  test('list_files: unswapped, the directory is listed', async () => {
    const r = await listChecked(fx.policy, fx.dir, await fx.policy.check(fx.dir));
    assert.deepEqual(
      r.entries.map((e) => e.name),
      ['f.txt'],
    );
  });

  test('list_files: the directory, or a parent, swapped for a symlink after the check is PATH_DENIED', async () => {
    const resolved = await fx.policy.check(fx.dir);
    await fx.swapDir();
    await assert.rejects(listChecked(fx.policy, fx.dir, resolved), {
      code: 'PATH_DENIED',
      message: /symbolic link appeared/,
    });
    await rm(fx.dir);
    await rename(`${fx.dir}-moved`, fx.dir);
    await mkdir(join(fx.outside, 'dir'));
    const again = await fx.policy.check(fx.dir);
    const parent = join(fx.dir, '..');
    await fx.swapDir(parent);
    await assert.rejects(listChecked(fx.policy, fx.dir, again), {
      code: 'PATH_DENIED',
      message: /outside the allowed paths/,
    });
  });
});
