import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { safeEntryPath, TarExtractor } from './tar-dir.ts';

/** A tar archive in memory built from `entries` (content for files, linkname for symlinks). */
async function archive(
  entries: Array<{ name: string; type?: 'file' | 'symlink' | 'directory'; body?: string; linkname?: string }>,
): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '' });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
    else pack.entry({ name: e.name }, e.body ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function extract(dir: string, data: Buffer): Promise<void> {
  const x = new TarExtractor(dir);
  try {
    await x.write(data);
    await x.finish();
  } catch (err) {
    x.abort();
    throw err;
  }
}

describe('tar extraction safety', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'reach-tar-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('safeEntryPath refuses absolute names, drive letters, backslashes and ..', () => {
    assert.deepEqual(safeEntryPath('./a/b/'), ['a', 'b']);
    for (const bad of ['/etc/passwd', 'C:/x', 'a\\..\\b', '../x', 'a/../../x', 'a/..']) {
      assert.throws(() => safeEntryPath(bad), { code: 'PATH_DENIED' }, bad);
    }
  });

  test('an entry climbing out with .. is refused and nothing lands outside', async () => {
    const dir = join(base, 'dotdot');
    await mkdir(dir);
    const data = await archive([
      { name: 'ok.txt', body: 'fine' },
      { name: '../escaped.txt', body: 'bad' },
    ]);
    await assert.rejects(extract(dir, data), { code: 'PATH_DENIED' });
    assert.deepEqual((await readdir(base)).includes('escaped.txt'), false);
  });

  test('nothing is written through a symlink the archive itself created', async () => {
    const dir = join(base, 'through-link');
    const outside = join(base, 'outside');
    await mkdir(dir);
    await mkdir(outside);
    // A file entry under a symlinked name: the file is created as a real directory entry first,
    // and the symlink (made last) then collides; either way nothing reaches `outside`.
    const data = await archive([
      { name: 'link', type: 'symlink', linkname: outside },
      { name: 'link/planted.txt', body: 'bad' },
    ]);
    await assert.rejects(extract(dir, data));
    assert.deepEqual(await readdir(outside), []);
    const nested = await archive([
      { name: 'l1', type: 'symlink', linkname: outside },
      { name: 'l1/l2', type: 'symlink', linkname: '/tmp' },
    ]);
    const dir2 = join(base, 'nested-links');
    await mkdir(dir2);
    await assert.rejects(extract(dir2, nested), { code: 'PATH_DENIED' });
    assert.deepEqual(await readdir(outside), []);
  });

  test('a plain archive extracts with contents', async () => {
    const dir = join(base, 'plain');
    await mkdir(dir);
    await extract(
      dir,
      await archive([
        { name: 'd/', type: 'directory' },
        { name: 'd/f.txt', body: 'hello' },
      ]),
    );
    assert.equal(await readFile(join(dir, 'd', 'f.txt'), 'utf8'), 'hello');
  });
});
