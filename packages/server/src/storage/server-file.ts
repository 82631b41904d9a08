import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { ReachError } from '@reach/protocol';
import { fsError } from '@reach/protocol/node';
import type { TransferRoots } from '../transfer/transfer-roots.ts';

/** Opens a server file `local` (checked by TransferRoots) by descriptor, confirmed inside the roots; a regular file only. */
export async function openServerFile(
  roots: TransferRoots,
  local: string,
  shown: string,
): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(local, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    throw fsError(err, shown);
  }
  await roots.confirmOpen(fh, local);
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw new ReachError('INVALID_ARGUMENT', `not a regular file: ${shown}`, { details: { path: shown } });
  }
  return fh;
}

/** A file hashed in one read pass (the object's metadata carries its SHA-256 before the body). */
export async function hashFile(fh: FileHandle): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fh.createReadStream({ autoClose: false, start: 0 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Fails the stream at its end when the bytes that went through do not hash to `sha256`. */
export function verifying(sha256: string, path: string): Transform {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      const got = hash.digest('hex');
      done(
        got === sha256 ? null : new ReachError('INTEGRITY_ERROR', `${path} changed while it was uploaded`),
      );
    },
  });
}
