import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const HOUR_MS = 60 * 60 * 1000;

/** How long each kind of leftover is kept after its last change. */
export const STALE_AFTER_MS = {
  /** A temp file of a non-resumable transfer: every write touches it, so an hour idle is dead. */
  file: HOUR_MS,
  /** A directory transfer's temp tree (or a replaced tree set aside): deep writes do not touch it. */
  dir: 24 * HOUR_MS,
  /** A resumable partial: kept a week for the retry that resumes it. */
  resumable: 7 * 24 * HOUR_MS,
} as const;

/** `.<name>.reach-partial-<suffix>` (partialPath); resume keys are 32 hex, random suffixes 16. */
const PARTIAL = /^\..+\.reach-partial-(old-[0-9a-f]{16}|[0-9a-f]{16,64})$/;

/**
 * Removes what killed transfers left in `dir`: temp files and trees (`partialPath`) that have not
 * changed for longer than STALE_AFTER_MS says. Run before each receive into `dir`, so leftovers
 * go the next time anything is sent there. Best effort: returns the names removed and never
 * throws.
 */
export async function sweepStalePartials(dir: string, now: number = Date.now()): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = PARTIAL.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    // lstat: a symlink wearing the name is not ours (we never make one) and is left alone.
    const st = await lstat(path).catch(() => undefined);
    if (!st || !(st.isFile() || st.isDirectory())) continue;
    const suffix = m[1]!;
    const limit = st.isDirectory()
      ? STALE_AFTER_MS.dir
      : suffix.length > 16
        ? STALE_AFTER_MS.resumable
        : STALE_AFTER_MS.file;
    if (now - st.mtimeMs <= limit) continue;
    const gone = await rm(path, { recursive: true, force: true }).then(
      () => true,
      () => false,
    );
    if (gone) removed.push(name);
  }
  return removed;
}
