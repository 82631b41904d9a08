import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ReachError } from '../errors.ts';
import { peerOverStream } from './peer-over-stream.ts';

/** A connected loopback TCP pair: `near` is ours, `far` is left paused (it reads nothing yet). */
async function socketPair(server: Server): Promise<{ near: Socket; far: Socket }> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const { port } = server.address() as { port: number };
  const { connect } = await import('node:net');
  const near = connect({ host: '127.0.0.1', port });
  await once(near, 'connect');
  const [far] = await accepted;
  return { near, far };
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('peerOverStream over a loopback socket', () => {
  let server: Server;
  const sockets: Socket[] = [];
  before(async () => {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });

  test('a reader that does not read makes senders wait; nothing is buffered past one frame, nothing is lost', async () => {
    const { near, far } = await socketPair(server);
    sockets.push(near, far);
    const peer = peerOverStream(near);
    const FRAME = 64 * 1024;
    // 20 MiB: more than loopback's kernel buffers take (a few MiB each way), so the rest must
    // wait somewhere: in the senders, not in the socket's buffer.
    const CALLS = 320;
    const payload = 'x'.repeat(FRAME);
    const calls = Array.from({ length: CALLS }, (_, i) =>
      peer.call('size', { i, payload }, { timeoutMs: 120_000 }),
    );
    let notified = false;
    const notice = peer.notify('after', {}).then(() => {
      notified = true;
    });
    let worst = 0;
    for (let i = 0; i < 20; i++) {
      await turns(5);
      worst = Math.max(worst, near.writableLength);
    }
    // Without the wait the socket's buffer held ~all 20 MiB less what the kernel took.
    assert.ok(
      worst <= near.writableHighWaterMark + FRAME + 1024,
      `socket buffered ${worst} bytes (high-water mark ${near.writableHighWaterMark}, frame ${FRAME})`,
    );
    assert.equal(notified, false, 'a notification behind a full pipe waits too');
    assert.equal(peer.pendingCount, CALLS);

    // The reader starts reading: every frame arrives whole and in order, every sender proceeds.
    const seen: number[] = [];
    peerOverStream(far, {
      handlers: new Map([
        [
          'size',
          async (p: unknown) => {
            const { i, payload: body } = p as { i: number; payload: string };
            seen.push(i);
            return body.length;
          },
        ],
      ]),
    });
    const sizes = await Promise.all(calls);
    await notice;
    assert.ok(sizes.every((s) => s === FRAME));
    assert.deepEqual(
      seen,
      Array.from({ length: CALLS }, (_, i) => i),
    );
    peer.close();
  });

  test('a peer flooding bad requests without reading the replies is cut off, not buffered for', {
    timeout: 60_000,
  }, async () => {
    const { near, far } = await socketPair(server);
    sockets.push(near, far);
    let reason: ReachError | undefined;
    const closed = new Promise<void>((resolve) => {
      peerOverStream(near, {
        onClose: (r) => {
          reason = r;
          resolve();
        },
      });
    });
    // 300,000 one-byte frames of invalid JSON (1.5 MB) ask for ~36 MB of PARSE_ERROR replies.
    const junk = Buffer.alloc(300_000 * 5);
    for (let o = 0; o < junk.length; o += 5) {
      junk.writeUInt32BE(1, o);
      junk[o + 4] = 0x7b;
    }
    far.write(junk);
    await closed;
    assert.equal(reason?.code, 'CONNECTION_ERROR');
    assert.match(reason?.message ?? '', /without reading the replies/);
    assert.ok(near.writableLength <= near.writableHighWaterMark + 1024, `buffered ${near.writableLength}`);
  });

  test('the stream closing fails calls in flight at once and reports the close once', async () => {
    const { near, far } = await socketPair(server);
    sockets.push(near, far);
    const reasons: ReachError[] = [];
    const peer = peerOverStream(near, { onClose: (r) => reasons.push(r) });
    const call = peer.call('never', {}, { timeoutMs: 60_000 });
    far.destroy();
    await assert.rejects(call, { code: 'CONNECTION_ERROR' });
    await assert.rejects(peer.call('again'), { code: 'CONNECTION_ERROR' });
    await turns(3);
    assert.equal(reasons.length, 1);
    assert.ok(peer.closed);
  });

  test('an oversized frame is answered FRAME_TOO_LARGE before its body, then the stream is ended', async () => {
    const { near, far } = await socketPair(server);
    sockets.push(near, far);
    peerOverStream(near, { maxFrameBytes: 4096 });
    const got: Buffer[] = [];
    far.on('data', (c: Buffer) => got.push(c));
    const ended = once(far, 'end');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(4097, 0);
    far.write(Buffer.concat([head, Buffer.alloc(100)])); // the body never completes
    await ended;
    const reply = JSON.parse(Buffer.concat(got).subarray(4).toString('utf8'));
    assert.equal(reply.error.data.code, 'FRAME_TOO_LARGE');
  });
});
