import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toReachError } from '@reach/protocol';
import { Hono } from 'hono';
import { bodyLimit } from './body-limit.ts';

/** An app with the limit and the shared error mapping; its one route echoes the body's size. */
function app(maxBytes: number, maxBufferedBytes?: number): Hono {
  const a = new Hono();
  a.use('*', bodyLimit(maxBytes, maxBufferedBytes));
  a.post('/echo', async (c) => c.json({ size: (await c.req.arrayBuffer()).byteLength }));
  a.onError((err, c) => {
    const e = toReachError(err);
    return c.json(e.toJSON(), e.httpStatus as 400);
  });
  return a;
}

/** A streamed (chunked) body we feed by hand; `pulled` resolves when the server first reads it. */
function handFed(): {
  stream: ReadableStream<Uint8Array>;
  push(n: number): void;
  end(): void;
  pulled: Promise<void>;
} {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let onPull!: () => void;
  const pulled = new Promise<void>((resolve) => {
    onPull = resolve;
  });
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        onPull();
      },
      // No read-ahead: pull runs only when the server reads.
    },
    { highWaterMark: 0 },
  );
  return {
    stream,
    push: (n) => controller.enqueue(new Uint8Array(n)),
    end: () => controller.close(),
    pulled,
  };
}

function post(body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Request {
  return new Request('http://x/echo', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

test('a body at the limit passes, buffered for the route; one byte more is 413 PAYLOAD_TOO_LARGE', async () => {
  const a = app(1000);
  // A Request built here gets no Content-Length of its own (node's HTTP client would add one).
  const okRes = await a.request(post(new Uint8Array(1000), { 'content-length': '1000' }));
  assert.equal(okRes.status, 200);
  assert.deepEqual(await okRes.json(), { size: 1000 });
  const big = await a.request(post(new Uint8Array(1001), { 'content-length': '1001' }));
  assert.equal(big.status, 413);
  const body = (await big.json()) as { error: string; details: Record<string, number> };
  assert.equal(body.error, 'PAYLOAD_TOO_LARGE');
  assert.deepEqual(body.details, { max_bytes: 1000, content_length: 1001 });
});

test('a declared Content-Length over the limit is refused without reading one byte', async () => {
  const fed = handFed();
  let read = false;
  void fed.pulled.then(() => {
    read = true;
  });
  const res = await app(1000).request(post(fed.stream, { 'content-length': String(50 * 1024 * 1024) }));
  assert.equal(res.status, 413);
  assert.equal(read, false);
});

test('a chunked body is counted as it streams and refused the moment it passes the limit', async () => {
  const fed = handFed();
  const pending = app(1000).request(post(fed.stream));
  await fed.pulled;
  fed.push(600);
  fed.push(600);
  // Never ended: the refusal cannot have waited for the end of the body.
  const res = await pending;
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { error: string }).error, 'PAYLOAD_TOO_LARGE');
});

test('bodies in progress share one budget: past it a request is 429, and the budget comes back', async () => {
  const a = app(1000, 2500);
  const held = [handFed(), handFed()];
  const pending = held.map((f) => a.request(post(f.stream, { 'content-length': '1000' })));
  await Promise.all(held.map((f) => f.pulled));
  // 2 × 1000 reserved; a third declared 1000 would pass 2500.
  const third = await a.request(post(new Uint8Array(1000), { 'content-length': '1000' }));
  assert.equal(third.status, 429);
  assert.equal(((await third.json()) as { error: string }).error, 'RATE_LIMIT_EXCEEDED');
  assert.equal(third.headers.get('retry-after'), '1');
  // A chunked one is charged as it grows: 400 fits, 600 more does not.
  const chunked = handFed();
  const chunkedRes = a.request(post(chunked.stream));
  await chunked.pulled;
  chunked.push(400);
  chunked.push(600);
  assert.equal((await chunkedRes).status, 429);
  for (const f of held) {
    f.push(1000);
    f.end();
  }
  for (const r of await Promise.all(pending)) assert.equal(r.status, 200);
  const after = await a.request(post(new Uint8Array(1000)));
  assert.equal(after.status, 200, 'reservations are released once answered');
});
