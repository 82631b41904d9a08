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

/**
 * Reads every request body (every route: /mcp, /messages, /api…) into memory up to `maxBytes`
 * and refuses a larger one with PAYLOAD_TOO_LARGE (413) before it is buffered: a declared
 * Content-Length over the limit is refused without reading a byte (node's parser never delivers
 * more than the declared length), and a chunked body is counted as it streams in and dropped the
 * moment it passes the limit. Routes then read the buffered copy from `c.req.raw`.
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (body === null) return next();
    const header = c.req.header('content-length');
    const declared = header === undefined ? Number.NaN : Number(header);
    if (declared > maxBytes) throw tooLarge(maxBytes, declared);
    // Chunks are kept as they come (no doubling buffer) and joined once at the end.
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        chunks.length = 0;
        reader.releaseLock();
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
    c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks, size) });
    return next();
  };
}
