/** TransferService over an in-memory stream pair that corrupts or cuts the data on purpose. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Duplex, duplexPair } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { sha, startTransferHarness, type TransferHarness } from '../../test/helpers/transfer-harness.ts';
import type { TransferService } from './transfer-service.ts';

describe('TransferService over a failing stream pair', () => {
  let h: TransferHarness;
  let root: string;
  let remote: string;
  let service: TransferService;

  before(async () => {
    h = await startTransferHarness();
    ({ root, remote, service } = h);
  });
  after(() => h.cleanup());

  test('a corrupted byte fails with INTEGRITY_ERROR and leaves nothing behind', async () => {
    const body = randomBytes(200_000);
    await writeFile(join(root, 'c'), body);
    const dest = join(remote, 'corrupt');
    h.tap = (clientEnd) => corruptOnce(clientEnd, 150_000);
    try {
      await assert.rejects(
        service.upload({ clientUuid: 'c', localPath: 'c', remotePath: dest, overwrite: true, resume: true }),
        { code: 'INTEGRITY_ERROR' },
      );
    } finally {
      h.tap = undefined;
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
    h.tap = (clientEnd, serverEnd) => cutAfter(clientEnd, serverEnd, 3 * 1024 * 1024);
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
      h.tap = undefined;
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
