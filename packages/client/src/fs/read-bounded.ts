import type { FileHandle } from 'node:fs/promises';

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
