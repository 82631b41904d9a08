import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { STALE_AFTER_MS, sweepStalePartials } from './stale-partials.ts';

const HOUR = 60 * 60 * 1000;

describe('sweepStalePartials', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-sweep-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('removes each kind of leftover past its age and keeps the rest', async () => {
    const now = Date.now();
    const aged = async (name: string, ageMs: number, kind: 'file' | 'dir' = 'file'): Promise<void> => {
      const path = join(dir, name);
      if (kind === 'dir') {
        await mkdir(join(path, 'sub'), { recursive: true });
        await writeFile(join(path, 'sub', 'f'), 'x');
      } else {
        await writeFile(path, 'partial');
      }
      const t = new Date(now - ageMs);
      await utimes(path, t, t);
    };
    const random = 'a'.repeat(16);
    const key = 'b'.repeat(32);
    await aged(`.f1.bin.reach-partial-${random}`, 2 * HOUR); // dead temp file
    await aged(`.f2.bin.reach-partial-${random}`, 10 * 60 * 1000); // recent: may be in use
    await aged(`.f3.bin.reach-partial-${key}`, 2 * HOUR); // resumable: kept for the retry
    await aged(`.f4.bin.reach-partial-${key}`, STALE_AFTER_MS.resumable + HOUR); // resumable, expired
    await aged(`.tree.reach-partial-${random}`, 2 * HOUR, 'dir'); // a tree: given a day
    await aged(`.tree2.reach-partial-${random}`, 25 * HOUR, 'dir');
    await aged(`.tree3.reach-partial-old-${random}`, 25 * HOUR, 'dir');
    await aged('not-a-partial.bin', 30 * 24 * HOUR);
    await aged('.x.reach-partial-NOTHEX', 30 * 24 * HOUR);
    await symlink('/etc', join(dir, `.link.reach-partial-${random}`));

    const removed = await sweepStalePartials(dir, now);
    assert.deepEqual(removed.sort(), [
      `.f1.bin.reach-partial-${random}`,
      `.f4.bin.reach-partial-${key}`,
      `.tree2.reach-partial-${random}`,
      `.tree3.reach-partial-old-${random}`,
    ]);
    assert.deepEqual((await readdir(dir)).sort(), [
      `.f2.bin.reach-partial-${random}`,
      `.f3.bin.reach-partial-${key}`,
      `.link.reach-partial-${random}`,
      `.tree.reach-partial-${random}`,
      '.x.reach-partial-NOTHEX',
      'not-a-partial.bin',
    ]);
  });

  test('a missing directory is not an error', async () => {
    assert.deepEqual(await sweepStalePartials(join(dir, 'nope')), []);
  });
});
