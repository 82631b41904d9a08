import assert from 'node:assert/strict';
import { existsSync, constants as fsConstants } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import type { TreeStats } from './tar-dir.ts';
import { tarDirectory } from './tar-directory.ts';

const hasProc = existsSync('/proc/self/fd');

interface Entry {
  type: string;
  mode: number | undefined;
  body: string;
  linkname: string | undefined;
}

/** Unpacks an archive in memory: entry name → what it held. */
async function entriesOf(chunks: Buffer[]): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const x = tar.extract();
  x.end(Buffer.concat(chunks));
  for await (const e of x) {
    const parts: Buffer[] = [];
    for await (const c of e) parts.push(c as Buffer);
    out.set(e.header.name, {
      type: e.header.type ?? 'file',
      mode: e.header.mode,
      body: Buffer.concat(parts).toString(),
      linkname: e.header.linkname ?? undefined,
    });
  }
  return out;
}

/** tarDirectory from the root opened here (as openSource would), closed once packing ends. */
async function* packOpened(root: string, stats: TreeStats): AsyncGenerator<Buffer> {
  const fh = await open(root, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    yield* tarDirectory(root, fh, stats);
  } finally {
    await fh.close();
  }
}

describe('tarDirectory: an anchored walk of the tree', () => {
  let base: string;
  let root: string;
  let outside: string;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'reach-tar-walk-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const fresh = async (name: string): Promise<void> => {
    root = join(base, name, 'tree');
    outside = join(base, name, 'outside');
    await mkdir(join(root, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'b'), 'SECRET outside the tree');
  };

  test('packs names, modes, files and symlinks (stored as links, not followed)', async () => {
    await fresh('plain');
    await writeFile(join(root, 'sub', 'run.sh'), '#!/bin/sh\n');
    await chmod(join(root, 'sub', 'run.sh'), 0o750);
    await symlink(join(outside, 'b'), join(root, 'link'));
    const stats = { entries: 0, skipped: 0 };
    const chunks: Buffer[] = [];
    for await (const c of packOpened(root, stats)) chunks.push(c);
    const got = await entriesOf(chunks);
    assert.deepEqual([...got.keys()], ['link', 'sub/', 'sub/run.sh']);
    assert.equal(got.get('link')?.type, 'symlink');
    assert.equal(got.get('link')?.linkname, join(outside, 'b'));
    assert.equal(got.get('link')?.body, '');
    assert.equal(got.get('sub/run.sh')?.mode, 0o750);
    assert.equal(got.get('sub/run.sh')?.body, '#!/bin/sh\n');
    assert.deepEqual(stats, { entries: 3, skipped: 0 });
  });

  test('a directory swapped for a symlink while it is packed: what is read is what it held', {
    skip: hasProc ? false : 'no /proc/self/fd',
  }, async () => {
    await fresh('swap');
    // `a` is big enough that packing is still inside it (held back by the consumer) at the swap.
    await writeFile(join(root, 'sub', 'a'), Buffer.alloc(4 * 1024 * 1024, 0x41));
    await writeFile(join(root, 'sub', 'b'), 'inner');
    const chunks: Buffer[] = [];
    let swapped = false;
    for await (const c of packOpened(root, { entries: 0, skipped: 0 })) {
      chunks.push(c);
      if (!swapped) {
        swapped = true;
        await rename(join(root, 'sub'), join(root, 'sub-moved'));
        await symlink(outside, join(root, 'sub'));
      }
    }
    const got = await entriesOf(chunks);
    assert.equal(got.get('sub/b')?.body, 'inner', 'read through the held directory, not the new link');
    assert.equal(got.get('sub/a')?.body.length, 4 * 1024 * 1024);
  });
});
