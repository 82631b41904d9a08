import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BufferPool } from './buffer-pool.ts';

describe('BufferPool', () => {
  test('hands out its buffers, waits when all are out, and takes views back', async () => {
    const pool = new BufferPool(2, 16);
    const a = await pool.acquire();
    const b = await pool.acquire();
    assert.notEqual(a, b);
    assert.equal(pool.available, 0);
    let third: Buffer | undefined;
    const waiting = pool.acquire().then((buf) => {
      third = buf;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(third, undefined, 'waits while every buffer is out');
    pool.release(a.subarray(0, 4)); // a view of a pooled buffer is enough
    await waiting;
    assert.equal(third, a);
    assert.ok(pool.owns(b.subarray(3)));
    assert.equal(pool.owns(Buffer.alloc(16)), false);
  });

  test('refuses foreign buffers and double releases', async () => {
    const pool = new BufferPool(1, 8);
    assert.throws(() => pool.release(Buffer.alloc(8)), /not from this pool/);
    const a = await pool.acquire();
    pool.release(a);
    assert.throws(() => pool.release(a), /released twice/);
  });

  test('close fails waiters and later acquires with CONNECTION_ERROR', async () => {
    const pool = new BufferPool(1, 8);
    await pool.acquire();
    const waiting = pool.acquire();
    pool.close();
    await assert.rejects(waiting, { code: 'CONNECTION_ERROR' });
    await assert.rejects(pool.acquire(), { code: 'CONNECTION_ERROR' });
  });
});
