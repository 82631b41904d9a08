import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LitterSweeper } from './litter-sweeper.ts';

const HOUR = 3_600_000;

describe('LitterSweeper', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reach-litter-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A file whose last change was `agoMs` before `now`. */
  const file = async (path: string, bytes: number, now: number, agoMs: number) => {
    await writeFile(path, Buffer.alloc(bytes));
    const t = (now - agoMs) / 1000;
    await utimes(path, t, t);
  };

  test('start() sweeps every journaled directory: dead temps go, live and resumable ones stay', async () => {
    const journalFile = join(root, 'a', 'written-dirs.json');
    const d1 = join(root, 'a', 'd1');
    const d2 = join(root, 'a', 'd2');
    await mkdir(d1, { recursive: true });
    await mkdir(d2, { recursive: true });
    const now = Date.now();
    // The run that died noted both directories.
    const first = new LitterSweeper({ journalFile, writeTemps: true });
    await first.note(d1);
    await first.note(d2);
    await first.close();

    await file(join(d1, '.big.iso.reach-partial-0123456789abcdef'), 10, now, 5000); // random: dead
    await file(join(d1, `.big.iso.reach-partial-${'a'.repeat(32)}`), 10, now, 5000); // resumable
    await file(join(d1, `.old.iso.reach-partial-${'b'.repeat(32)}`), 10, now, 200 * HOUR); // past TTL
    await file(join(d2, '.notes.txt.0123456789ab.tmp'), 10, now, 5000); // write_file temp: dead
    await file(join(d2, 'keep.txt'), 10, now, 5000);
    await file(join(d2, '.keep.txt.tmp'), 10, now, 5000); // not our pattern
    await symlink('/etc/hostname', join(d2, '.link.reach-partial-0123456789abcdef'));
    const sweeper = new LitterSweeper({ journalFile, writeTemps: true, now: () => now });
    await file(join(d1, '.live.bin.reach-partial-fedcba9876543210'), 10, now, -1000); // written since start
    const report = await sweeper.start();
    assert.equal(report.removed.length, 3, JSON.stringify(report));
    assert.deepEqual((await readdir(d1)).sort(), [
      `.big.iso.reach-partial-${'a'.repeat(32)}`,
      '.live.bin.reach-partial-fedcba9876543210',
    ]);
    assert.deepEqual((await readdir(d2)).sort(), [
      '.keep.txt.tmp',
      '.link.reach-partial-0123456789abcdef',
      'keep.txt',
    ]);
  });

  test('resumable partials over the size cap go oldest first; the TTL is configurable', async () => {
    const dir = join(root, 'b', 'd');
    await mkdir(dir, { recursive: true });
    const now = Date.now();
    const sweeper = new LitterSweeper({
      journalFile: join(root, 'b', 'j.json'),
      policy: { maxResumableBytes: 2500, resumableTtlMs: 10 * HOUR },
      now: () => now,
    });
    await sweeper.start();
    await sweeper.note(dir);
    const name = (c: string) => `.f${c}.reach-partial-${c.repeat(32)}`;
    await file(join(dir, name('a')), 1000, now, 3 * HOUR);
    await file(join(dir, name('b')), 1000, now, 2 * HOUR);
    await file(join(dir, name('c')), 1000, now, 1 * HOUR);
    await file(join(dir, name('d')), 10, now, 11 * HOUR);
    const report = await sweeper.afterFailure(dir);
    assert.deepEqual(report.overCap, [join(dir, name('a'))]);
    assert.deepEqual(report.removed, [`${dir}/${name('d')}`]);
    assert.deepEqual((await readdir(dir)).sort(), [name('b'), name('c')]);
  });

  test('the journal keeps the most recent maxDirs directories and survives a restart', async () => {
    const journalFile = join(root, 'c', 'j.json');
    const s1 = new LitterSweeper({ journalFile, maxDirs: 3 });
    for (const d of ['p', 'q', 'r', 's', 't']) await s1.note(join(root, d));
    await s1.note(join(root, 'r'));
    assert.deepEqual(
      s1.dirs,
      ['s', 't', 'r'].map((d) => join(root, d)),
    );
    await s1.close();
    const s2 = new LitterSweeper({ journalFile, maxDirs: 3 });
    await s2.start();
    assert.deepEqual(s2.dirs.sort(), ['r', 's', 't'].map((d) => join(root, d)).sort());
  });

  test('a damaged journal is ignored, not fatal', async () => {
    const journalFile = join(root, 'd', 'j.json');
    await mkdir(join(root, 'd'), { recursive: true });
    await writeFile(journalFile, '{"v":1,"dirs":');
    const s = new LitterSweeper({ journalFile });
    assert.deepEqual(await s.start(), { removed: [], overCap: [] });
    assert.deepEqual(s.dirs, []);
  });
});
