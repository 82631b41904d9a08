import { createHash, randomBytes } from 'node:crypto';
import { chmod, type FileHandle, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { ReachError } from '../errors.ts';
import { OPEN_DIR } from './open-flags.ts';
import { procFdPath } from './opened-path.ts';
import { TarExtractor } from './tar-dir.ts';
import type { Place, Prepared, ReceiveTarget } from './transfer-receiver.ts';

/**
 * The temp directory is made in `place` and, when `place` is a held-open directory, held open
 * itself: the tree is extracted through its /proc link, so a swap of either path after that
 * changes nothing.
 */
export async function prepareDir(
  target: Extract<ReceiveTarget, { kind: 'dir' }>,
  place: Place,
): Promise<Prepared> {
  const temp = place.partial(randomBytes(8).toString('hex'));
  await mkdir(temp, { mode: 0o700 });
  let tempFh: FileHandle | undefined;
  try {
    tempFh = place.held ? await open(temp, OPEN_DIR) : undefined;
  } catch (err) {
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  const extractor = new TarExtractor((tempFh && procFdPath(tempFh)) ?? temp);
  const hash = createHash('sha256');
  let entries = 0;
  const closeTemp = async (): Promise<void> => {
    await tempFh?.close().catch(() => undefined);
    tempFh = undefined;
  };
  return {
    offer: { ok: true, offset: 0 },
    resumable: false,
    begin: async (offset) => {
      if (offset !== 0) throw new ReachError('TRANSFER_FAILED', 'a directory transfer starts at 0');
    },
    write: async (chunk) => {
      hash.update(chunk);
      await extractor.write(chunk);
    },
    finish: async () => {
      entries = (await extractor.finish()).entries;
      await chmod(temp, target.mode);
      return { sha256: hash.digest('hex'), entries };
    },
    commit: async () => {
      await closeTemp();
      const existing = await lstat(place.dest).catch(() => undefined);
      if (!existing) {
        await rename(temp, place.dest);
      } else {
        // rename() cannot replace a non-empty directory: move the old one aside first.
        const old = place.partial(`old-${randomBytes(8).toString('hex')}`);
        await rename(place.dest, old);
        try {
          await rename(temp, place.dest);
        } catch (err) {
          await rename(old, place.dest).catch(() => {});
          throw err;
        }
        await rm(old, { recursive: true, force: true });
      }
      await place.sync();
    },
    discard: async () => {
      extractor.abort();
      await extractor.settled();
      await closeTemp();
      await rm(temp, { recursive: true, force: true });
    },
  };
}
