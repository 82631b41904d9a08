import type { FileHandle } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';

/**
 * Reads `fh` from its current position to the end, at most `limit` bytes; null when it holds more.
 * Bounded by what is read, not by a stat, so it also catches a file that grew since it was stat'd
 * or reports size 0 (/proc). Reads in pieces of at most 1 MiB; the caller owns the handle.
 */
export async function readBounded(fh: FileHandle, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, limit + 1 - total));
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    chunks.push(buf.subarray(0, bytesRead));
    total += bytesRead;
    if (total > limit) return null;
  }
  return Buffer.concat(chunks, total);
}

/**
 * Reads the whole of an open regular file: INVALID_ARGUMENT for anything else (a FIFO or device
 * node swapped in), and `tooLarge(atLeast)` when it holds more than `maxBytes`. The caller owns
 * the handle.
 */
export async function readRegularFile(
  fh: FileHandle,
  path: string,
  maxBytes: number,
  tooLarge: (atLeast: number) => ReachError,
): Promise<Buffer> {
  if (!(await fh.stat()).isFile()) throw notRegularFile(path);
  const body = await readBounded(fh, maxBytes);
  if (body === null) throw tooLarge(maxBytes + 1);
  return body;
}

export function notRegularFile(path: string): ReachError {
  return new ReachError('INVALID_ARGUMENT', `not a regular file: ${path}`, { details: { path } });
}
