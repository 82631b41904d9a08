import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import {
  type FileHandle,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { sendPath } from '../../test/helpers/send-path.ts';
import { ReachError } from '../errors.ts';
import { TransferChannel } from './transfer-channel.ts';
import { partialPath, receiveTarget } from './transfer-receiver.ts';

/**
 * An openDir that opens the directory, and then, as a local user racing the receiver would, moves
 * `target` aside (to `<target>-moved`) and leaves a symlink to `outside` in its place.
 */
function openThenSwap(target: string, outside: string): (dir: string) => Promise<FileHandle> {
  return async (dir) => {
    const fh = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    await rename(target, `${target}-moved`);
    await symlink(outside, target);
    return fh;
  };
}

describe('receiveTarget confirm hook', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-receiver-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends `body` from a file into `dest`, the receiver confirming its temp file with `confirm`. */
  async function transfer(
    name: string,
    body: Buffer,
    confirm: ((fh: { fd: number }, temp: string) => Promise<void>) | undefined,
    resumeKey?: string,
  ) {
    const source = join(dir, `${name}.src`);
    await writeFile(source, body);
    const [a, b] = duplexPair();
    return Promise.allSettled([
      sendPath(new TransferChannel(a), source),
      receiveTarget(
        new TransferChannel(b),
        { kind: 'file', path: join(dir, name), size: body.length, mode: 0o600, overwrite: false, resumeKey },
        { confirm },
      ),
    ]);
  }

  for (const resumeKey of [undefined, 'ab'.repeat(8)]) {
    const label = resumeKey ? 'resumable' : 'one-shot';
    test(`${label}: a refused temp file is removed and both ends fail with the refusal`, async () => {
      const name = `refused-${label}`;
      const temps: string[] = [];
      const [sent, received] = await transfer(
        name,
        randomBytes(4096),
        async (fh, temp) => {
          assert.notEqual(fh.fd, -1);
          temps.push(temp);
          throw new ReachError('PATH_DENIED', `path is outside the allowed paths: ${temp}`);
        },
        resumeKey,
      );
      assert.equal(sent.status, 'rejected');
      assert.equal(received.status, 'rejected');
      assert.equal((received as PromiseRejectedResult).reason.code, 'PATH_DENIED');
      assert.equal((sent as PromiseRejectedResult).reason.code, 'PATH_DENIED');
      assert.equal(temps.length, 1);
      assert.match(temps[0] ?? '', new RegExp(`/\\.${name}\\.reach-partial-`));
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.includes(name) && !n.endsWith('.src')),
        [],
      );
    });
  }

  test('a confirm that passes is called once and the file lands', async () => {
    const body = randomBytes(70_000);
    let calls = 0;
    const [sent, received] = await transfer('passed', body, async () => void calls++);
    assert.equal(sent.status, 'fulfilled');
    assert.equal(received.status, 'fulfilled');
    assert.equal(calls, 1);
    assert.deepEqual(await readFile(join(dir, 'passed')), body);
  });

  test('a symlink planted under a resumable partial name is not followed (nothing created where it points)', async () => {
    const key = 'cd'.repeat(8);
    const dest = join(dir, 'planted');
    const elsewhere = join(dir, 'elsewhere-created');
    await symlink(elsewhere, partialPath(dest, key));
    const [sent, received] = await transfer('planted', randomBytes(4096), undefined, key);
    assert.equal(sent.status, 'rejected');
    assert.equal(received.status, 'rejected');
    assert.equal((received as PromiseRejectedResult).reason.code, 'PATH_DENIED');
    assert.match((received as PromiseRejectedResult).reason.message, /symbolic link refused/);
    await assert.rejects(lstat(elsewhere), { code: 'ENOENT' });
    await assert.rejects(lstat(dest), { code: 'ENOENT' });
  });

  for (const resumeKey of [undefined, 'ef'.repeat(8)]) {
    const label = resumeKey ? 'resumable' : 'one-shot';
    test(`${label}: with openDir, the file lands in the directory opened even once its path is swapped`, async () => {
      const base = join(dir, `anchored-${label}`);
      const target = join(base, 'd');
      const outside = join(base, 'outside');
      await mkdir(target, { recursive: true });
      await mkdir(outside);
      const body = randomBytes(100_000);
      const source = join(dir, `anchored-${label}.src`);
      await writeFile(source, body);
      const [a, b] = duplexPair();
      const [sent, received] = await Promise.allSettled([
        sendPath(new TransferChannel(a), source),
        receiveTarget(
          new TransferChannel(b),
          {
            kind: 'file',
            path: join(target, 'f'),
            size: body.length,
            mode: 0o600,
            overwrite: true,
            resumeKey,
          },
          {
            openDir: openThenSwap(target, outside),
          },
        ),
      ]);
      assert.equal(sent.status, 'fulfilled');
      assert.equal(received.status, 'fulfilled');
      assert.deepEqual(await readFile(join(`${target}-moved`, 'f')), body);
      assert.deepEqual(await readdir(outside), [], 'nothing written through the swapped path');
      assert.deepEqual(await readdir(`${target}-moved`), ['f'], 'no temp file left');
    });
  }

  test('a directory with openDir: the tree lands in the directory opened even once its path is swapped', async () => {
    const base = join(dir, 'anchored-tree');
    const target = join(base, 'd');
    const outside = join(base, 'outside');
    const tree = join(dir, 'anchored-tree.src');
    await mkdir(target, { recursive: true });
    await mkdir(outside);
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub', 'a.txt'), 'a');
    await writeFile(join(tree, 'b.txt'), 'b');
    // A tree already there is replaced: its old copy is moved aside and removed in the open directory too.
    await mkdir(join(target, 't'));
    await writeFile(join(target, 't', 'old.txt'), 'old');
    const [a, b] = duplexPair();
    const [sent, received] = await Promise.allSettled([
      sendPath(new TransferChannel(a), tree),
      receiveTarget(
        new TransferChannel(b),
        { kind: 'dir', path: join(target, 't'), mode: 0o755, overwrite: true },
        {
          openDir: openThenSwap(target, outside),
        },
      ),
    ]);
    assert.equal(sent.status, 'fulfilled');
    assert.equal(received.status, 'fulfilled');
    const moved = `${target}-moved`;
    assert.equal(await readFile(join(moved, 't', 'sub', 'a.txt'), 'utf8'), 'a');
    assert.equal(await readFile(join(moved, 't', 'b.txt'), 'utf8'), 'b');
    assert.deepEqual((await readdir(join(moved, 't'))).sort(), ['b.txt', 'sub'], 'the old tree is gone');
    assert.deepEqual(await readdir(outside), [], 'nothing written through the swapped path');
    assert.deepEqual(await readdir(moved), ['t'], 'no temp or old directory left');
  });
});
