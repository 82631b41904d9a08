import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeDirs } from './make-dirs.ts';

const hasProc = existsSync('/proc/self/fd');

describe('makeDirs: mkdir -p anchored in the directories it holds open', () => {
  let base: string;
  let n = 0;
  let root: string;
  let outside: string;

  before(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'reach-mkdirs-')));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });
  const fresh = async (): Promise<void> => {
    n++;
    root = join(base, `case-${n}`, 'root');
    outside = join(base, `case-${n}`, 'outside');
    await mkdir(root, { recursive: true });
    await mkdir(outside);
  };

  test('makes every missing component; an existing directory is left as it is', async () => {
    await fresh();
    await makeDirs(join(root, 'a', 'b', 'c'));
    assert.ok((await stat(join(root, 'a', 'b', 'c'))).isDirectory());
    await makeDirs(join(root, 'a', 'b', 'c'));
    await makeDirs(root);
    assert.deepEqual(await readdir(join(root, 'a', 'b')), ['c']);
  });

  test('a file in the way fails with ENOTDIR and nothing is made', async () => {
    await fresh();
    await writeFile(join(root, 'file'), 'x');
    await assert.rejects(makeDirs(join(root, 'file', 'b')), { code: 'ENOTDIR' });
    assert.deepEqual(await readdir(root), ['file']);
  });

  test('the deepest existing directory swapped for a symlink after the check: PATH_DENIED, nothing made outside', async () => {
    await fresh();
    await mkdir(join(root, 'a'));
    const checked = join(root, 'a', 'b', 'c');
    await rename(join(root, 'a'), join(root, 'a-moved'));
    await symlink(outside, join(root, 'a'));
    await assert.rejects(makeDirs(checked), { code: 'PATH_DENIED', message: /symbolic link appeared/ });
    assert.deepEqual(await readdir(outside), []);
    assert.deepEqual(await readdir(join(root, 'a-moved')), []);
  });

  test('a directory above it swapped for a symlink: the open lands elsewhere and is refused', {
    skip: hasProc ? false : 'no /proc/self/fd',
  }, async () => {
    await fresh();
    await mkdir(join(root, 'x', 'a'), { recursive: true });
    await mkdir(join(outside, 'a'));
    const checked = join(root, 'x', 'a', 'b');
    await rename(join(root, 'x'), join(root, 'x-moved'));
    await symlink(outside, join(root, 'x'));
    await assert.rejects(makeDirs(checked), { code: 'PATH_DENIED' });
    assert.deepEqual(
      await readdir(join(outside, 'a')),
      [],
      'nothing made in the directory the link leads to',
    );
  });
});
