import assert from 'node:assert/strict';
import { constants as fsConstants } from 'node:fs';
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeFileAtomic } from './atomic-write.ts';

describe('writeFileAtomic', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-atomic-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes new content and replaces old content', async () => {
    const p = join(dir, 'a.txt');
    await writeFile(p, 'old');
    await writeFileAtomic(p, 'new');
    assert.equal(await readFile(p, 'utf8'), 'new');
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });

  test('sets the exact mode when asked, ignoring umask', async () => {
    const p = join(dir, 'key');
    await writeFileAtomic(p, 'secret', { mode: 0o600 });
    assert.equal((await stat(p)).mode & 0o777, 0o600);
    await writeFileAtomic(p, 'x', { mode: 0o755 });
    assert.equal((await stat(p)).mode & 0o777, 0o755);
  });

  test("mode 'keep': the replaced file's bits; a new file gets the default; a directory is EISDIR, nothing written", async () => {
    const p = join(dir, 'kept');
    await writeFileAtomic(p, 'one', { mode: 0o751 });
    await writeFileAtomic(p, 'two', { mode: 'keep' });
    assert.equal((await stat(p)).mode & 0o7777, 0o751);
    const fresh = join(dir, 'fresh-keep');
    await writeFileAtomic(fresh, 'x', { mode: 'keep' });
    assert.equal((await stat(fresh)).mode & 0o111, 0, 'the default (0o666 minus umask)');
    const sub = join(dir, 'a-dir');
    await mkdir(sub);
    const before = await readdir(dir);
    await assert.rejects(writeFileAtomic(sub, 'x', { mode: 'keep' }), { code: 'EISDIR' });
    assert.deepEqual(await readdir(dir), before, 'no temp file left');
  });

  test('a failed rename leaves no temp file and the target untouched', async () => {
    const target = join(dir, 'is-a-dir');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'keep');
    await assert.rejects(writeFileAtomic(target, 'data'));
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.tmp')),
      [],
    );
    assert.equal(await readFile(join(target, 'inside'), 'utf8'), 'keep');
  });

  test('confirm sees the open temp file before any write; a refusal removes it, target untouched', async () => {
    const p = join(dir, 'confirmed.txt');
    await writeFile(p, 'old');
    const seen: Array<{ temp: string; size: number }> = [];
    await assert.rejects(
      writeFileAtomic(p, 'new', {
        confirm: async (fh, temp) => {
          seen.push({ temp, size: (await fh.stat()).size });
          await fh.close();
          throw new Error('refused');
        },
      }),
      /refused/,
    );
    assert.equal(seen.length, 1);
    assert.match(seen[0]?.temp ?? '', /\/\.confirmed\.txt\.[0-9a-f]{12}\.tmp$/);
    assert.equal(seen[0]?.size, 0);
    assert.equal(await readFile(p, 'utf8'), 'old');
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.tmp')),
      [],
    );
    await writeFileAtomic(p, 'new', { confirm: async () => {} });
    assert.equal(await readFile(p, 'utf8'), 'new');
  });

  test('openDir: the temp file and the rename stay in the directory opened, even once its path is swapped', async () => {
    const base = join(dir, 'anchored');
    const target = join(base, 'd');
    const outside = join(base, 'outside');
    await mkdir(target, { recursive: true });
    await mkdir(outside);
    await writeFile(join(target, 'f'), 'old');
    await writeFileAtomic(join(target, 'f'), 'new', {
      openDir: async (d) => {
        const fh = await open(d, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
        // After the directory is open, a local user moves it and leaves a symlink in its place.
        await rename(target, `${target}-moved`);
        await symlink(outside, target);
        return fh;
      },
    });
    assert.equal(await readFile(join(`${target}-moved`, 'f'), 'utf8'), 'new');
    assert.deepEqual(await readdir(outside), [], 'nothing written through the swapped path');
    assert.deepEqual(await readdir(`${target}-moved`), ['f'], 'no temp file left');
  });
});
