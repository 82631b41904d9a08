import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ReachError } from '@reach/protocol';
import { procFdPath } from '@reach/protocol/node';
import type { TransferRoots } from '../transfer/transfer-roots.ts';

const CREATE_NEW = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;

/**
 * Writes `body` to `resolved` (a path TransferRoots.check allowed for writing) atomically: a temp
 * file is created in the destination's directory, opened and confirmed by descriptor, filled while
 * hashing, checked against `sha256`, fsynced and renamed; the directory is fsynced after. On any
 * failure (a cut connection, a wrong hash) the temp file is removed and the destination untouched.
 */
export async function saveToRoots(
  roots: TransferRoots,
  resolved: string,
  body: Readable,
  sha256: string,
  mode = 0o644,
): Promise<{ size: number; sha256: string }> {
  await mkdir(dirname(resolved), { recursive: true, mode: 0o700 });
  await roots.check(dirname(resolved), 'read');
  const dirFh = await roots.openDir(dirname(resolved));
  const at = procFdPath(dirFh) ?? dirname(resolved);
  const tempName = `.${basename(resolved).slice(0, 120)}.reach-partial-${randomBytes(8).toString('hex')}`;
  const temp = join(at, tempName);
  let renamed = false;
  try {
    const fh = await open(temp, CREATE_NEW, 0o600);
    let size = 0;
    const hash = createHash('sha256');
    try {
      await roots.confirmOpen(fh, join(dirname(resolved), tempName));
      // One write per chunk, in order; awaiting each is the backpressure on the socket.
      for await (const chunk of body) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        await fh.write(chunk as Buffer);
      }
      const got = hash.digest('hex');
      if (got !== sha256) {
        throw new ReachError('INTEGRITY_ERROR', 'downloaded bytes do not match the object’s SHA-256', {
          details: { expected_sha256: sha256, sha256: got },
        });
      }
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close().catch(() => undefined);
    }
    await rename(temp, join(at, basename(resolved)));
    renamed = true;
    await dirFh.sync().catch(() => undefined);
    return { size, sha256 };
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
    await dirFh.close().catch(() => undefined);
  }
}
