import { Readable } from 'node:stream';
import { toReachError } from '@reach/protocol';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { OpenedReleaseFile, ReleaseStore } from '../releases/release-store.ts';

/** `bytes=a-b` | `bytes=a-` | `bytes=-n` (RFC 9110 §14.1.2); one range only. */
const RANGE = /^bytes=(\d*)-(\d*)$/;

type Range = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * The byte range to send, from a Range header. A header this does not handle (several ranges,
 * another unit, bad syntax) is ignored and the whole file sent, as RFC 9110 §14.2 allows.
 */
export function parseRange(header: string | undefined, size: number): Range {
  const m = header === undefined ? null : RANGE.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

function sendFile(c: Context, file: OpenedReleaseFile, latest: boolean): Response {
  const headers = new Headers({
    'content-type': file.contentType,
    etag: file.etag,
    'accept-ranges': 'bytes',
    // /latest moves with each install: revalidate (cheap: ETag). A version's files do not change.
    'cache-control': latest ? 'no-cache' : 'public, max-age=86400',
    'content-disposition': `attachment; filename="${c.req.param('name')}"`,
    'x-reach-release': file.version,
  });
  const ifNoneMatch = c.req.header('if-none-match');
  if (ifNoneMatch?.split(',').some((t) => t.trim() === file.etag)) {
    void file.close();
    return new Response(null, { status: 304, headers });
  }
  // If-Range with another validator: the file changed since the partial copy, send it whole.
  const ifRange = c.req.header('if-range');
  const range =
    ifRange === undefined || ifRange === file.etag ? parseRange(c.req.header('range'), file.size) : undefined;
  if (range === 'unsatisfiable') {
    void file.close();
    headers.set('content-range', `bytes */${file.size}`);
    return new Response(null, { status: 416, headers });
  }
  const { start, end } = range ?? { start: 0, end: file.size - 1 };
  headers.set('content-length', String(end - start + 1));
  if (range !== undefined) headers.set('content-range', `bytes ${start}-${end}/${file.size}`);
  const status = range === undefined ? 200 : 206;
  if (c.req.method === 'HEAD' || end < start) {
    void file.close();
    return new Response(null, { status, headers });
  }
  const body = Readable.toWeb(file.stream(start, end)) as ReadableStream<Uint8Array>;
  return new Response(body, { status, headers });
}

async function serve(c: Context, store: ReleaseStore, version: string, name: string): Promise<Response> {
  let file: OpenedReleaseFile;
  try {
    file = await store.open(version, name);
  } catch (err) {
    const e = toReachError(err);
    return c.json(e.toJSON(), e.httpStatus as ContentfulStatusCode);
  }
  return sendFile(c, file, version === 'latest');
}

/**
 * GET (and HEAD) `/latest/<name>` and `/releases/<version>/<name>`: the client executables and
 * archives for `curl -LO …/latest/reach-linux`, with Content-Length, ETag and single-range
 * requests so an interrupted download resumes (`curl -C -`).
 */
export function releaseRoutes(store: ReleaseStore): Hono {
  const app = new Hono();
  app.get('/latest/:name', (c) => serve(c, store, 'latest', c.req.param('name')));
  app.get('/releases/:version/:name', (c) => serve(c, store, c.req.param('version'), c.req.param('name')));
  return app;
}
