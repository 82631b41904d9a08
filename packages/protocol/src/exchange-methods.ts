import { z } from 'zod';
import { AbsolutePath } from './paths.ts';

/**
 * Agent methods of the bucket exchange: the client moves the bytes itself, to and from presigned
 * URLs the server hands it, so a file exchanged through the bucket never passes through the server.
 */
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');
const Url = z
  .string()
  .max(8192)
  .regex(/^https?:\/\//, 'http(s) URL');
/** Headers the presigned request was signed with; sent exactly as given. */
const SignedHeaders = z.record(z.string().max(128), z.string().max(2048)).default({});

/** `exchange_stat`: size, mode and SHA-256 of a client file, read once (the object's metadata needs it first). */
export const ExchangeStatParams = z.object({ path: AbsolutePath });
export const ExchangeStatResult = z.object({
  path: z.string(),
  size: z.number().int().nonnegative(),
  mode: z.number().int().min(0).max(0o7777),
  sha256: Sha256,
});

/** One presigned PUT of the byte range `[offset, offset + length)`. */
export const ExchangePutPart = z.object({
  /** 1-based S3 part number; 0 for a single-request PutObject. */
  part_number: z.number().int().min(0).max(10_000),
  url: Url,
  headers: SignedHeaders,
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});

/**
 * `exchange_put`: PUTs the file's ranges in order; refuses (INTEGRITY_ERROR) when the bytes sent
 * no longer hash to `sha256` (the file changed after exchange_stat).
 */
export const ExchangePutParams = z.object({
  path: AbsolutePath,
  size: z.number().int().nonnegative(),
  sha256: Sha256,
  parts: z.array(ExchangePutPart).min(1).max(10_000),
});
export const ExchangePutResult = z.object({
  parts: z.array(z.object({ part_number: z.number().int(), etag: z.string().max(256) })),
  size: z.number().int().nonnegative(),
  sha256: Sha256,
});

/**
 * `exchange_fetch`: GETs a presigned URL into `path` (temp file beside it, SHA-256 checked against
 * `sha256` or else the object's `x-amz-meta-sha256`, fsync, rename). Nothing is left on failure.
 */
export const ExchangeFetchParams = z.object({
  url: Url,
  path: AbsolutePath,
  sha256: Sha256.optional(),
  size: z.number().int().nonnegative().optional(),
  mode: z.number().int().min(0).max(0o7777).optional(),
});
export const ExchangeFetchResult = z.object({
  path: z.string(),
  size: z.number().int().nonnegative(),
  sha256: Sha256,
});

export const EXCHANGE_METHODS = {
  exchange_stat: { params: ExchangeStatParams, result: ExchangeStatResult },
  exchange_put: { params: ExchangePutParams, result: ExchangePutResult },
  exchange_fetch: { params: ExchangeFetchParams, result: ExchangeFetchResult },
} as const;
export type ExchangeMethod = keyof typeof EXCHANGE_METHODS;
