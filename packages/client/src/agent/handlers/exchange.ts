import { createHash, type Hash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import {
  ExchangeFetchParams,
  type ExchangeMethod,
  ExchangePutParams,
  ExchangeStatParams,
  ReachError,
  type RpcHandler,
} from '@reach/protocol';
import { fsError, makeDirs, presignedRequest } from '@reach/protocol/node';
import { writeFileAtomic } from '../../fs/atomic-write.ts';
import { openConfirmed, openConfirmedDir } from '../open-confirmed.ts';
import type { PathPolicy } from '../path-policy.ts';
import { defineHandler } from './define-handler.ts';

export interface ExchangeHandlerDeps {
  policy: PathPolicy;
}

/** Passes bytes through unchanged, hashing them and counting them. */
function hashing(hash: Hash, count: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      count.n += chunk.length;
      done(null, chunk);
    },
  });
}

/** The byte range `[offset, offset + length)` of an open file, streamed (64 KiB reads). */
function rangeOf(fh: FileHandle, offset: number, length: number): Readable {
  if (length === 0) return Readable.from([]);
  return fh.createReadStream({ start: offset, end: offset + length - 1, autoClose: false });
}

/** Opens a client file for reading inside the path policy, by descriptor (no symlink swap). */
async function openReadable(policy: PathPolicy, path: string): Promise<FileHandle> {
  const resolved = await policy.check(path);
  try {
    const fh = await openConfirmed(policy, resolved, fsConstants.O_RDONLY);
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new ReachError('INVALID_ARGUMENT', `not a regular file: ${path}`, { details: { path } });
    }
    return fh;
  } catch (err) {
    throw fsError(err, path);
  }
}

const integrity = (path: string, want: string, got: string): ReachError =>
  new ReachError('INTEGRITY_ERROR', `SHA-256 of ${path} is not the expected one`, {
    details: { path, expected_sha256: want, sha256: got },
    recoveryHint: 'the file changed while it was being exchanged, or the object was altered; retry',
  });

/**
 * The client's side of the bucket exchange (exchange-methods.ts): the bytes go between this
 * client's disk and the bucket directly, through presigned URLs; the server only signs.
 */
export function exchangeHandlers(deps: ExchangeHandlerDeps): Record<ExchangeMethod, RpcHandler> {
  const { policy } = deps;
  return {
    exchange_stat: defineHandler(ExchangeStatParams, async ({ path }) => {
      const fh = await openReadable(policy, path);
      try {
        const st = await fh.stat();
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of rangeOf(fh, 0, st.size)) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        return { path, size, mode: st.mode & 0o7777, sha256: hash.digest('hex') };
      } finally {
        await fh.close();
      }
    }),

    exchange_put: defineHandler(ExchangePutParams, async (params, ctx) => {
      const fh = await openReadable(policy, params.path);
      try {
        const st = await fh.stat();
        if (st.size !== params.size) {
          throw new ReachError('INTEGRITY_ERROR', `${params.path} changed size since it was hashed`, {
            details: { path: params.path, expected_size: params.size, size: st.size },
          });
        }
        const hash = createHash('sha256');
        const count = { n: 0 };
        const parts: Array<{ part_number: number; etag: string }> = [];
        // In order, one at a time: the whole-file hash is taken over the bytes as they are sent.
        for (const part of [...params.parts].sort((a, b) => a.offset - b.offset)) {
          const res = await presignedRequest(part.url, {
            method: 'PUT',
            headers: { ...part.headers, 'content-length': String(part.length) },
            body: rangeOf(fh, part.offset, part.length).pipe(hashing(hash, count)),
            signal: ctx.signal,
            errorCode: 'R2_UPLOAD_ERROR',
          });
          res.resume();
          const etag = res.headers.etag;
          parts.push({ part_number: part.part_number, etag: typeof etag === 'string' ? etag : '' });
        }
        const sha256 = hash.digest('hex');
        if (sha256 !== params.sha256 || count.n !== params.size)
          throw integrity(params.path, params.sha256, sha256);
        return { parts, size: count.n, sha256 };
      } finally {
        await fh.close();
      }
    }),

    exchange_fetch: defineHandler(ExchangeFetchParams, async (params, ctx) => {
      const resolved = await policy.check(params.path);
      const res = await presignedRequest(params.url, {
        method: 'GET',
        signal: ctx.signal,
        errorCode: 'R2_DOWNLOAD_ERROR',
      });
      const meta = res.headers['x-amz-meta-sha256'];
      const want = params.sha256 ?? (typeof meta === 'string' ? meta.toLowerCase() : undefined);
      const length = Number(res.headers['content-length']);
      try {
        if (want === undefined) {
          throw new ReachError('R2_DOWNLOAD_ERROR', 'the object carries no sha256 to verify against', {
            recoveryHint: 'pass sha256, or fetch an object uploaded by exchange_upload',
          });
        }
        if (params.size !== undefined && Number.isFinite(length) && length !== params.size) {
          throw new ReachError('INTEGRITY_ERROR', `object is ${length} bytes, expected ${params.size}`);
        }
        const hash = createHash('sha256');
        const count = { n: 0 };
        await makeDirs(dirname(resolved));
        await writeFileAtomic(
          resolved,
          async (fh) => {
            // One write per chunk, in order; awaiting each is the backpressure on the socket.
            for await (const chunk of res) {
              hash.update(chunk as Buffer);
              count.n += (chunk as Buffer).length;
              await fh.write(chunk as Buffer);
            }
            const got = hash.digest('hex');
            if (got !== want) throw integrity(params.path, want, got);
          },
          {
            mode: params.mode ?? 'keep',
            confirm: (fh, temp) => policy.confirmOpen(fh, temp),
            openDir: (dir) => openConfirmedDir(policy, dir),
          },
        );
        return { path: params.path, size: count.n, sha256: want };
      } catch (err) {
        res.destroy();
        if (err instanceof ReachError) throw err;
        if (ctx.signal?.aborted) throw new ReachError('CANCELLED', 'fetch cancelled');
        throw fsError(err, params.path);
      }
    }),
  };
}
