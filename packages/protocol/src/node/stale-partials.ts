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
/** `.<name>.<12 hex>.tmp`: the temp file of the client's atomic write (write_file). */
const WRITE_TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;

export interface SweepOptions {
  /**
   * Epoch ms: a temp that cannot be resumed and has not changed since before this is dead whatever
   * its age (the sweeping process started then, so the writer that left it is gone).
   */
  deadBefore?: number | undefined;
  /** How long a resumable partial is kept after its last change, in ms (STALE_AFTER_MS.resumable). */
  resumableTtlMs?: number | undefined;
  /** Also sweep write_file's `.<name>.<hex>.tmp` files (the client's directories). */
  writeTemps?: boolean | undefined;
}

/** A resumable partial found by a sweep and kept, for the total size cap (litter-sweeper.ts). */
export interface KeptPartial {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * Removes what killed transfers left in `dir`: temp files and trees (`partialPath`) that have not
 * changed for longer than STALE_AFTER_MS says (or since `deadBefore`), and with `writeTemps`
 * write_file's temp files. Run before each receive into `dir` and by the litter sweeper. Best
 * effort: returns the names removed and never throws; `kept` collects the resumable partials left.
 */
export async function sweepStalePartials(
  dir: string,
  now: number = Date.now(),
  options: SweepOptions = {},
  kept?: KeptPartial[],
): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = PARTIAL.exec(name);
    const writeTemp = !m && options.writeTemps === true && WRITE_TEMP.test(name);
    if (!m && !writeTemp) continue;
    const path = join(dir, name);
    // lstat: a symlink wearing the name is not ours (we never make one) and is left alone.
    const st = await lstat(path).catch(() => undefined);
    if (!st || !(st.isFile() || (m !== null && st.isDirectory()))) continue;
    const resumable = m !== null && st.isFile() && m[1]!.length > 16;
    const limit = resumable
      ? (options.resumableTtlMs ?? STALE_AFTER_MS.resumable)
      : st.isDirectory()
        ? STALE_AFTER_MS.dir
        : STALE_AFTER_MS.file;
    const dead = !resumable && options.deadBefore !== undefined && st.mtimeMs < options.deadBefore;
    if (!dead && now - st.mtimeMs <= limit) {
      if (resumable) kept?.push({ path, size: st.size, mtimeMs: st.mtimeMs });
      continue;
    }
    const gone = await rm(path, { recursive: true, force: true }).then(
      () => true,
      () => false,
    );
    if (gone) removed.push(name);
  }
  return removed;
}
