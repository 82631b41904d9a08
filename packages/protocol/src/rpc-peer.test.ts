import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReachError } from './errors.ts';
import { encodeFrame } from './framing.ts';
import { type RpcHandler, RpcPeer } from './rpc-peer.ts';

/** Two peers wired back to back in memory; `cut()` drops the link like a dead socket. */
function pair(handlers: Record<string, RpcHandler>) {
  let server!: RpcPeer;
  let client!: RpcPeer;
  const sent: Uint8Array[] = [];
  client = new RpcPeer({
    transport: {
      send: async (f) => queueMicrotask(() => server.receive(f)),
      close: () => server.handleClose(),
    },
  });
  server = new RpcPeer({
    handlers: new Map(Object.entries(handlers)),
    transport: {
      send: async (f) => {
        sent.push(f);
        queueMicrotask(() => client.receive(f));
      },
      close: () => client.handleClose(),
    },
  });
  const cut = (): void => {
    client.handleClose();
    server.handleClose();
  };
  return { client, server, sent, cut };
}

describe('RpcPeer', () => {
  test('matches concurrent responses to their calls by id', async () => {
    const { client } = pair({
      echo: async (p) => {
        const { n } = p as { n: number };
        await new Promise((r) => setTimeout(r, (10 - n) * 2));
        return n;
      },
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => client.call('echo', { n })));
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('carries typed errors across with their code, details and hint', async () => {
    const { client } = pair({
      fail: async () => {
        throw new ReachError('PATH_DENIED', 'no', { details: { path: '/x' }, recoveryHint: 'ask' });
      },
    });
    await assert.rejects(client.call('fail'), (err: ReachError) => {
      assert.equal(err.code, 'PATH_DENIED');
      assert.deepEqual(err.details, { path: '/x' });
      assert.equal(err.recoveryHint, 'ask');
      return true;
    });
  });

  test('unknown method → METHOD_NOT_FOUND; thrown bug → INTERNAL_ERROR', async () => {
    const { client } = pair({
      bug: async () => {
        throw new TypeError('oops');
      },
    });
    await assert.rejects(client.call('nope'), { code: 'METHOD_NOT_FOUND' });
    await assert.rejects(client.call('bug'), { code: 'INTERNAL_ERROR' });
  });

  test('a deadline fails the call with TIMEOUT and cancels the work on the peer', async () => {
    let aborted = false;
    const { client, server } = pair({
      slow: (_p, ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(ctx.signal.reason);
          });
        }),
    });
    await assert.rejects(client.call('slow', {}, { timeoutMs: 20 }), { code: 'TIMEOUT' });
    await new Promise((r) => setTimeout(r, 5));
    assert.ok(aborted);
    assert.equal(server.servingCount, 0);
  });

  test('an AbortSignal cancels the call and the remote work', async () => {
    let aborted = false;
    const { client } = pair({
      slow: (_p, ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(ctx.signal.reason);
          });
        }),
    });
    const ac = new AbortController();
    const call = client.call('slow', {}, { signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(call, { code: 'CANCELLED' });
    await new Promise((r) => setTimeout(r, 5));
    assert.ok(aborted);
  });

  test('a closed link fails every call in flight with CONNECTION_ERROR at once', async () => {
    const { client, cut } = pair({ hang: () => new Promise(() => {}) });
    const calls = Array.from({ length: 5 }, () => client.call('hang', {}, { timeoutMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(client.pendingCount, 5);
    cut();
    for (const c of calls) await assert.rejects(c, { code: 'CONNECTION_ERROR' });
    await assert.rejects(client.call('hang'), { code: 'CONNECTION_ERROR' });
  });

  test('answers garbage with PARSE_ERROR and an oversized frame with FRAME_TOO_LARGE, then closes', () => {
    const replies: Uint8Array[] = [];
    let closed = false;
    const peer = new RpcPeer({
      maxFrameBytes: 1024,
      transport: {
        send: async (f) => {
          replies.push(f);
        },
        close: () => (closed = true),
      },
    });
    const junk = new TextEncoder().encode('not json');
    const frame = new Uint8Array(4 + junk.length);
    new DataView(frame.buffer).setUint32(0, junk.length);
    frame.set(junk, 4);
    peer.receive(frame);
    assert.equal(replies.length, 1);
    assert.equal(closed, false);
    peer.receive(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    assert.equal(replies.length, 2);
    assert.equal(closed, true);
    assert.ok(peer.closed);
    const decode = (f: Uint8Array) => JSON.parse(new TextDecoder().decode(f.subarray(4)));
    assert.equal(decode(replies[0]!).error.data.code, 'PARSE_ERROR');
    assert.equal(decode(replies[1]!).error.data.code, 'FRAME_TOO_LARGE');
    assert.ok(encodeFrame({}).length > 0);
  });
});
