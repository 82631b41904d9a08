import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Recordings } from './recordings.ts';

const root = await mkdtemp(join(tmpdir(), 'reach-recordings-'));
after(() => rm(root, { recursive: true, force: true }));

const A = '11111111-2222-3333-4444-555555555555';
const B = '66666666-7777-8888-9999-aaaaaaaaaaaa';
const DAY = 86_400_000;
const now = Date.now();

async function cast(uuid: string, id: string, ageDays: number): Promise<string> {
  const dir = join(root, 'recordings', uuid);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${id}.cast`);
  await writeFile(file, '{"version":2,"width":80,"height":24}\n');
  const t = new Date(now - ageDays * DAY);
  await utimes(file, t, t);
  return file;
}

test('prune deletes finished recordings past the cutoff, keeps open and recent ones, empty folders go', async () => {
  await cast(A, '1700000000000-0000000a', 100);
  await cast(A, '1700000000001-0000000b', 1);
  const live = '1700000000002-0000000c';
  await cast(A, live, 100);
  await cast(B, '1700000000003-0000000d', 200);
  // Not a recording id: never touched, whatever its age.
  const stray = join(root, 'recordings', A, 'notes.txt');
  await writeFile(stray, 'mine');
  await utimes(stray, new Date(now - 365 * DAY), new Date(now - 365 * DAY));
  // A symlink named like a recording, pointing outside: neither it nor its target is touched.
  const outside = join(root, 'outside.cast');
  await writeFile(outside, 'keep');
  await symlink(outside, join(root, 'recordings', A, '1700000000004-0000000e.cast'));

  const recordings = new Recordings(join(root, 'recordings'), (id) => id === live);
  const removed = await recordings.prune(now - 90 * DAY);
  assert.equal(removed, 2);
  assert.deepEqual((await readdir(join(root, 'recordings', A))).sort(), [
    '1700000000001-0000000b.cast',
    '1700000000002-0000000c.cast',
    '1700000000004-0000000e.cast',
    'notes.txt',
  ]);
  assert.deepEqual(await readdir(join(root, 'recordings')), [A], "B's folder was left empty and removed");
  assert.deepEqual(await readdir(root).then((n) => n.includes('outside.cast')), true);
  assert.equal((await recordings.list(A)).map((r) => r.id).includes(live), true);
});

test('prune on a data dir with no recordings yet is a no-op', async () => {
  assert.equal(await new Recordings(join(root, 'none')).prune(now), 0);
});
