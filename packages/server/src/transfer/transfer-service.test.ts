/** TransferService ⇄ the client's transfer handler over an in-memory stream pair (no SSH). */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Duplex, duplexPair } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { PathPolicy } from '../../../client/src/agent/path-policy.ts';
import { createTransferStreamHandler } from '../../../client/src/transfer/transfer-stream-handler.ts';
import { TransferRoots } from './transfer-roots.ts';
import { type FileTransferredEvent, TransferService } from './transfer-service.ts';

const log = pino({ level: 'silent' });
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('TransferService over a stream pair', () => {
  let base: string;
  let root: string;
  let remote: string;
  let service: TransferService;
  const events: FileTransferredEvent[] = [];
  /** Wraps the next opened stream (to cut it or corrupt it). */
  let tap: ((clientEnd: Duplex, serverEnd: Duplex) => Duplex) | undefined;
  /** Runs when a stream is opened: after the service has checked its local path. */
  let onOpen: (() => Promise<void>) | undefined;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'reach-xfer-unit-'));
    root = join(base, 'root');
    remote = join(base, 'remote');
    await mkdir(remote);
    const policy = new PathPolicy([remote]);
    const handler = createTransferStreamHandler({ checkPath: (p) => policy.check(p), log });
    service = new TransferService({
      roots: new TransferRoots([root]),
      log,
      openStream: async () => {
        await onOpen?.();
        const [serverEnd, clientEnd] = duplexPair();
        handler(tap ? tap(clientEnd, serverEnd) : clientEnd);
        return serverEnd;
      },
    });
    service.on('file_transferred', (e) => events.push(e));
    await service.start();
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  for (const size of [0, 1, 1024 * 1024 + 7]) {
    test(`a ${size}-byte file goes up and comes back with equal sha256`, async () => {
      const body = randomBytes(size);
      await writeFile(join(root, `f${size}`), body, { mode: 0o640 });
      const up = await service.upload({
        clientUuid: 'c1',
        localPath: `f${size}`,
        remotePath: join(remote, 'sub', `f${size}`),
        overwrite: true,
        resume: false,
      });
      assert.equal(up.size, size);
      assert.equal(up.sha256, sha(body));
      assert.equal(up.method, 'ssh-stream');
      const there = join(remote, 'sub', `f${size}`);
      assert.deepEqual(await readFile(there), body);
      assert.equal((await stat(there)).mode & 0o777, 0o640);
      const down = await service.download({
        clientUuid: 'c1',
        remotePath: there,
        localPath: join(root, 'back', `f${size}`),
        resume: false,
      });
      assert.equal(down.sha256, sha(body));
      assert.deepEqual(await readFile(join(root, 'back', `f${size}`)), body);
      assert.equal(events.at(-1)?.direction, 'download');
      assert.deepEqual(
        (await readdir(join(remote, 'sub'))).filter((n) => n.includes('reach-partial')),
        [],
        'no temp files left',
      );
    });
  }

  test('mode is set when asked; overwrite:false refuses an existing destination', async () => {
    await writeFile(join(root, 'm'), 'hello');
    const dest = join(remote, 'm');
    await service.upload({
      clientUuid: 'c',
      localPath: 'm',
      remotePath: dest,
      mode: 0o600,
      overwrite: true,
      resume: false,
    });
    assert.equal((await stat(dest)).mode & 0o777, 0o600);
    await writeFile(join(root, 'm'), 'changed');
    await assert.rejects(
      service.upload({ clientUuid: 'c', localPath: 'm', remotePath: dest, overwrite: false, resume: false }),
      { code: 'INVALID_ARGUMENT' },
    );
    assert.equal(await readFile(dest, 'utf8'), 'hello');
  });

  test('what a killed transfer left beside the destination is swept by the next one', async () => {
    const dir = join(remote, 'swept');
    await mkdir(dir, { recursive: true });
    const dead = join(dir, `.gone.bin.reach-partial-${'c'.repeat(16)}`);
    const live = join(dir, `.live.bin.reach-partial-${'d'.repeat(16)}`);
    await writeFile(dead, 'left by a killed transfer');
    await writeFile(live, 'still being written');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(dead, twoHoursAgo, twoHoursAgo);
    await writeFile(join(root, 'sweep-src'), 'new');
    await service.upload({
      clientUuid: 'c',
      localPath: 'sweep-src',
      remotePath: join(dir, 'new.bin'),
      overwrite: true,
      resume: false,
    });
    assert.deepEqual((await readdir(dir)).sort(), ['.live.bin.reach-partial-dddddddddddddddd', 'new.bin']);
  });

  test('paths outside allowed_paths and outside the transfer roots are refused', async () => {
    await writeFile(join(root, 'p'), 'x');
    await assert.rejects(
      service.upload({
        clientUuid: 'c',
        localPath: 'p',
        remotePath: join(base, 'elsewhere'),
        overwrite: true,
        resume: false,
      }),
      { code: 'PATH_DENIED' },
    );
    await assert.rejects(
      service.upload({
        clientUuid: 'c',
        localPath: '../remote/x',
        remotePath: join(remote, 'x'),
        overwrite: true,
        resume: false,
      }),
      { code: 'PATH_DENIED' },
    );
    // An allowed root itself cannot be replaced: its temp would live outside it.
    await assert.rejects(
      service.upload({ clientUuid: 'c', localPath: 'p', remotePath: remote, overwrite: true, resume: false }),
      { code: 'PATH_DENIED' },
    );
    await symlink(base, join(root, 'escape'));
    await assert.rejects(
      service.download({
        clientUuid: 'c',
        remotePath: join(remote, 'm'),
        localPath: 'escape/stolen',
        resume: false,
      }),
      { code: 'PATH_DENIED' },
    );
    await assert.rejects(
      service.download({
        clientUuid: 'c',
        remotePath: join(remote, 'missing'),
        localPath: 'never',
        resume: false,
      }),
      { code: 'FILE_NOT_FOUND' },
    );
  });

  test('a download whose destination directory is swapped for a link after the check writes nothing outside', async () => {
    const body = randomBytes(64 * 1024);
    await writeFile(join(remote, 'swap-src'), body);
    const dir = join(root, 'swap-dir');
    const outside = join(base, 'outside-root');
    await mkdir(dir, { recursive: true });
    await mkdir(outside, { recursive: true });
    onOpen = async () => {
      onOpen = undefined;
      await rename(dir, `${dir}-moved`);
      await symlink(outside, dir);
    };
    await assert.rejects(
      service.download({
        clientUuid: 'c1',
        remotePath: join(remote, 'swap-src'),
        localPath: 'swap-dir/f',
        resume: false,
      }),
    );
    assert.deepEqual(await readdir(outside), [], 'nothing written through the link');
    assert.deepEqual(await readdir(`${dir}-moved`), []);
  });

  test('a directory tree keeps relative paths, modes and symlinks, both ways', async () => {
    const tree = join(root, 'tree');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await writeFile(join(tree, 'a', 'b', 'data.bin'), randomBytes(300_000), { mode: 0o600 });
    await writeFile(join(tree, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await symlink('a/b/data.bin', join(tree, 'link'));
    await symlink('/etc/passwd', join(tree, 'outside'));
    const dest = join(remote, 'tree-copy');
    const up = await service.upload({
      clientUuid: 'c',
      localPath: 'tree',
      remotePath: dest,
      overwrite: true,
      resume: false,
    });
    assert.equal(up.method, 'ssh-stream-tar');
    assert.equal(up.entries, 6);
    assert.deepEqual(
      await readFile(join(dest, 'a', 'b', 'data.bin')),
      await readFile(join(tree, 'a', 'b', 'data.bin')),
    );
    assert.equal((await stat(join(dest, 'run.sh'))).mode & 0o777, 0o755);
    assert.equal((await stat(join(dest, 'a', 'b', 'data.bin'))).mode & 0o777, 0o600);
    assert.equal(await readlink(join(dest, 'link')), 'a/b/data.bin');
    assert.equal(await readlink(join(dest, 'outside')), '/etc/passwd', 'stored as a link, not followed');
    assert.ok((await lstat(join(dest, 'outside'))).isSymbolicLink());

    // Again over an existing destination: replaced as a whole.
    await writeFile(join(dest, 'stale'), 'old');
    await service.upload({
      clientUuid: 'c',
      localPath: 'tree',
      remotePath: dest,
      overwrite: true,
      resume: false,
    });
    await assert.rejects(stat(join(dest, 'stale')));

    const down = await service.download({
      clientUuid: 'c',
      remotePath: dest,
      localPath: 'tree-back',
      resume: false,
    });
    assert.equal(down.sha256.length, 64);
    assert.equal(await readlink(join(root, 'tree-back', 'link')), 'a/b/data.bin');
    assert.equal((await stat(join(root, 'tree-back', 'run.sh'))).mode & 0o777, 0o755);
  });

  test('a corrupted byte fails with INTEGRITY_ERROR and leaves nothing behind', async () => {
    const body = randomBytes(200_000);
    await writeFile(join(root, 'c'), body);
    const dest = join(remote, 'corrupt');
    tap = (clientEnd) => corruptOnce(clientEnd, 150_000);
    try {
      await assert.rejects(
        service.upload({ clientUuid: 'c', localPath: 'c', remotePath: dest, overwrite: true, resume: true }),
        { code: 'INTEGRITY_ERROR' },
      );
    } finally {
      tap = undefined;
    }
    await assert.rejects(stat(dest));
    assert.deepEqual(
      (await readdir(remote)).filter((n) => n.startsWith('.corrupt')),
      [],
    );
  });

  test('a cut transfer keeps the destination; resume continues from the verified bytes', async () => {
    const body = randomBytes(8 * 1024 * 1024);
    await writeFile(join(root, 'big'), body);
    const dest = join(remote, 'big');
    await writeFile(dest, 'previous');
    tap = (clientEnd, serverEnd) => cutAfter(clientEnd, serverEnd, 3 * 1024 * 1024);
    try {
      await assert.rejects(
        service.upload({
          clientUuid: 'c',
          localPath: 'big',
          remotePath: dest,
          overwrite: true,
          resume: true,
        }),
      );
    } finally {
      tap = undefined;
    }
    assert.equal(await readFile(dest, 'utf8'), 'previous');
    // The handler may still be flushing its partial file when the server side gives up.
    await new Promise((r) => setTimeout(r, 200));
    const partials = (await readdir(remote)).filter((n) => n.startsWith('.big.reach-partial-'));
    assert.equal(partials.length, 1);
    const r = await service.upload({
      clientUuid: 'c',
      localPath: 'big',
      remotePath: dest,
      overwrite: true,
      resume: true,
    });
    assert.ok(r.resumed_from > 0, 'resumed');
    assert.ok(r.bytes_transferred < body.length, 'sent less than the whole file');
    assert.equal(r.resumed_from + r.bytes_transferred, body.length);
    assert.equal(r.sha256, sha(body));
    assert.deepEqual(await readFile(dest), body);
    assert.deepEqual(
      (await readdir(remote)).filter((n) => n.startsWith('.big.')),
      [],
    );
  });
});

/** The client end, with one byte of the data flowing to it (server → client) flipped at `at`. */
function corruptOnce(inner: Duplex, at: number): Duplex {
  let seen = 0;
  const [outer, mine] = duplexPair();
  inner.on('data', (chunk: Buffer) => {
    const start = seen;
    seen += chunk.byteLength;
    if (start <= at && at < seen) {
      const copy = Buffer.from(chunk);
      copy[at - start] = copy[at - start]! ^ 0xff;
      outer.write(copy);
    } else outer.write(chunk);
  });
  outer.on('data', (chunk: Buffer) => inner.write(chunk));
  inner.on('close', () => outer.destroy());
  outer.on('close', () => inner.destroy());
  return mine;
}

/** The client end, torn down once `limit` bytes have flowed to it. */
function cutAfter(inner: Duplex, serverEnd: Duplex, limit: number): Duplex {
  let seen = 0;
  const [outer, mine] = duplexPair();
  inner.on('data', (chunk: Buffer) => {
    seen += chunk.byteLength;
    outer.write(chunk);
    if (seen >= limit) {
      // A dropped link closes both ends (duplexPair does not propagate a destroy).
      serverEnd.destroy();
      inner.destroy();
      outer.destroy();
      mine.destroy();
    }
  });
  outer.on('data', (chunk: Buffer) => inner.write(chunk));
  inner.on('close', () => outer.destroy());
  return mine;
}
