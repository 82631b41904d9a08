import { ReachError } from '@reach/protocol';
import type { MiddlewareHandler } from 'hono';

/**
 * 16 MiB: the largest body a tool needs is `write_file` at its 10 MiB cap, base64 (13.4 MiB) in
 * its JSON-RPC envelope; the agent RPC frame limit is 16 MiB too, so a bigger body could not be
 * forwarded anyway.
 */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

function tooLarge(maxBytes: number, declared?: number): ReachError {
  return new ReachError('PAYLOAD_TOO_LARGE', `request body exceeds ${maxBytes} bytes`, {
    details: { max_bytes: maxBytes, ...(declared === undefined ? {} : { content_length: declared }) },
    recoveryHint: 'send a smaller request; file bodies go through upload_file/download_file',
  });
}

function busy(budget: number): ReachError {
  return new ReachError(
    'RATE_LIMIT_EXCEEDED',
    `the server is already holding ${budget} bytes of request bodies`,
    {
      details: { max_buffered_bytes: budget },
      recoveryHint: 'retry in a moment',
    },
  );
}

/**
 * Reads every request body (every route: /mcp, /messages, /api…) into memory up to `maxBytes`
 * and refuses a larger one with PAYLOAD_TOO_LARGE (413) before it is buffered: a declared
 * Content-Length over the limit is refused without reading a byte (node's parser never delivers
 * more than the declared length), and a chunked body is counted as it streams in and dropped the
 * moment it passes the limit. Routes then read the buffered copy from `c.req.raw`.
 *
 * The per-request limit alone would let N parallel requests hold N × 16 MiB, so all bodies in
 * progress share `maxBufferedBytes` (default 4 × `maxBytes`): a declared length is reserved
 * whole up front, a chunked body chunk by chunk, and a request that would pass the budget gets
 * RATE_LIMIT_EXCEEDED (429). The reservation lasts until the route has answered.
 */
export function bodyLimit(maxBytes: number, maxBufferedBytes = 4 * maxBytes): MiddlewareHandler {
  let buffered = 0;
  return async (c, next) => {
    const body = c.req.raw.body;
    if (body === null) return next();
    // What is left of a refused body is drained and dropped by @hono/node-server after the
    // answer (at most 64 MiB, then the socket is closed): the 413 reaches the caller, and no
    // byte of it is kept.
    const refuse = (err: ReachError): ReachError => {
      if (err.code === 'RATE_LIMIT_EXCEEDED') c.header('retry-after', '1');
      return err;
    };
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > maxBytes) throw refuse(tooLarge(maxBytes, declared));
    let reserved = 0;
    const reserve = (total: number): void => {
      if (total <= reserved) return;
      if (buffered + total - reserved > maxBufferedBytes) throw refuse(busy(maxBufferedBytes));
      buffered += total - reserved;
      reserved = total;
    };
    try {
      if (declared > 0) reserve(declared);
      // Chunks are kept as they come (no doubling buffer) and joined once at the end.
      const chunks: Uint8Array[] = [];
      let size = 0;
      const reader = body.getReader();
      try {
        for (;;) {
          let read: Awaited<ReturnType<typeof reader.read>>;
          try {
            read = await reader.read();
          } catch (err) {
            throw new ReachError('CONNECTION_ERROR', 'the request body ended early', { cause: err });
          }
          if (read.done) break;
          size += read.value.byteLength;
          if (size > maxBytes) throw refuse(tooLarge(maxBytes));
          reserve(size);
          chunks.push(read.value);
        }
      } finally {
        reader.releaseLock();
      }
      c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks, size) });
      await next();
    } finally {
      buffered -= reserved;
    }
  };
}
