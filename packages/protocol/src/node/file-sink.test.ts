import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileSink } from './file-sink.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('FileSink', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-sink-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('odd-sized chunks land in order at the start position, hashed as written', async () => {
    const path = join(dir, 'a.bin');
    const prefix = Buffer.from('kept prefix|');
    const body = randomBytes(300_001);
    const fh = await open(path, 'w+');
    await fh.write(prefix, 0, prefix.byteLength, 0);
    const hash = createHash('sha256').update(prefix);
    // Small batches and a low flush threshold exercise batching, the pool bound and datasync.
    const sink = new FileSink(fh, prefix.byteLength, hash, {
      batchBytes: 4096,
      batches: 2,
      flushEveryBytes: 50_000,
    });
    for (let off = 0; off < body.byteLength; ) {
      const n = Math.min(1 + ((off * 7919) % 9000), body.byteLength - off);
      const chunk = Buffer.from(body.subarray(off, off + n));
      await sink.write(chunk);
      chunk.fill(0); // the sink copied it: reusing the chunk must not change the file
      off += n;
    }
    await sink.finish();
    await fh.close();
    const whole = Buffer.concat([prefix, body]);
    assert.deepEqual(await readFile(path), whole);
    assert.equal(hash.digest('hex'), sha(whole));
  });

  test('a write error surfaces on the next write or at finish, and abort settles', async () => {
    const path = join(dir, 'ro.bin');
    await open(path, 'w').then((f) => f.close());
    const fh = await open(path, 'r'); // writes fail with EBADF
    const sink = new FileSink(fh, 0, createHash('sha256'), { batchBytes: 1024, batches: 2 });
    const failed = (async () => {
      for (let i = 0; i < 100; i++) await sink.write(Buffer.alloc(1024, 1));
      await sink.finish();
    })();
    await assert.rejects(failed, { code: 'EBADF' });
    await sink.abort();
    await fh.close();
  });
});
