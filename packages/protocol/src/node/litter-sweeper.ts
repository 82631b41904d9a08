import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { type KeptPartial, STALE_AFTER_MS, sweepStalePartials } from './stale-partials.ts';

export interface LitterPolicy {
  /** A resumable partial is removed this long after its last change, in ms (default 7 days). */
  resumableTtlMs: number;
  /** Resumable partials in the journal's directories may take this much together, in bytes. */
  maxResumableBytes: number;
}

export const DEFAULT_LITTER_POLICY: LitterPolicy = {
  resumableTtlMs: STALE_AFTER_MS.resumable,
  maxResumableBytes: 4 * 1024 ** 3,
};

export interface LitterSweeperDeps {
  /** The journal of directories written into recently (JSON, owner-only). */
  journalFile: string;
  policy?: Partial<LitterPolicy>;
  /** Also sweep write_file's temp files (the client). */
  writeTemps?: boolean;
  /** Directories remembered, most recent kept (default 256). */
  maxDirs?: number;
  /** Epoch ms; injected in tests. */
  now?: () => number;
}

export interface LitterReport {
  removed: string[];
  /** Resumable partials removed to bring their total under maxResumableBytes (oldest first). */
  overCap: string[];
}

const Journal = z.object({ v: z.literal(1), dirs: z.record(z.string(), z.number()) });

/** A journal entry is rewritten at most this often for a directory already in it, in ms. */
const RENOTE_MS = 10 * 60_000;

/**
 * Sweeps what this process's writes leave behind when a writer dies (README: "What a crash leaves
 * behind"): transfer temp files and trees (`.<name>.reach-partial-<hex>`), write_file's
 * `.<name>.<hex>.tmp`, and resumable partials past their TTL or over the total size cap. It keeps
 * a small journal on disk of the directories written into recently (note()), so that `start()` —
 * run before the process serves anything — finds the litter of the run that died, whichever
 * directory it was in: a temp that cannot be resumed and was last changed before this process
 * started is dead. `afterFailure(dir)` sweeps one directory at once after a failed operation and
 * enforces the size cap. Best effort: it never throws into the operation that called it.
 */
export class LitterSweeper {
  readonly #file: string;
  readonly #policy: LitterPolicy;
  readonly #writeTemps: boolean;
  readonly #maxDirs: number;
  readonly #now: () => number;
  readonly #startedAt: number;
  #dirs = new Map<string, number>();
  #saving: Promise<void> = Promise.resolve();

  constructor(deps: LitterSweeperDeps) {
    this.#file = deps.journalFile;
    this.#policy = { ...DEFAULT_LITTER_POLICY, ...deps.policy };
    this.#writeTemps = deps.writeTemps ?? false;
    this.#maxDirs = deps.maxDirs ?? 256;
    this.#now = deps.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  /** The directories in the journal, most recent last. */
  get dirs(): string[] {
    return [...this.#dirs.keys()];
  }

  /** Loads the journal and sweeps every directory in it (dead temps, TTL, size cap). */
  async start(): Promise<LitterReport> {
    const text = await readFile(this.#file, 'utf8').catch(() => '');
    let parsed: z.ZodSafeParseResult<z.infer<typeof Journal>> | undefined;
    try {
      parsed = text ? Journal.safeParse(JSON.parse(text)) : undefined;
    } catch {
      parsed = undefined;
    }
    const horizon = this.#now() - this.#policy.resumableTtlMs;
    const entries = Object.entries(parsed?.success ? parsed.data.dirs : {})
      .filter(([, at]) => at >= horizon)
      .sort((a, b) => a[1] - b[1])
      .slice(-this.#maxDirs);
    this.#dirs = new Map(entries);
    const report = await this.#sweep([...this.#dirs.keys()]);
    await this.#save();
    return report;
  }

  /**
   * `dir` is about to be written into: remember it. Resolves once the journal on disk names it
   * (written when the directory is new or was not noted for 10 min, else at once), so a temp file
   * made after it is always findable by the next start.
   */
  async note(dir: string): Promise<void> {
    const now = this.#now();
    const last = this.#dirs.get(dir);
    this.#dirs.delete(dir);
    this.#dirs.set(dir, now);
    while (this.#dirs.size > this.#maxDirs) {
      const oldest = this.#dirs.keys().next().value;
      if (oldest === undefined) break;
      this.#dirs.delete(oldest);
    }
    if (last === undefined || now - last > RENOTE_MS) await this.#save();
  }

  /**
   * After a failed operation in `dir` (named as the writer sees it: it may be an open directory's
   * `/proc/self/fd/N` link): sweeps it, then enforces the cap over every journaled directory.
   */
  async afterFailure(dir: string): Promise<LitterReport> {
    return this.#sweep([dir, ...[...this.#dirs.keys()].filter((d) => d !== dir)]);
  }

  /** Waits for the journal's last write. */
  async close(): Promise<void> {
    await this.#saving;
  }

  async #sweep(dirs: string[]): Promise<LitterReport> {
    const now = this.#now();
    const kept: KeptPartial[] = [];
    const removed: string[] = [];
    for (const dir of dirs) {
      const names = await sweepStalePartials(
        dir,
        now,
        {
          deadBefore: this.#startedAt,
          resumableTtlMs: this.#policy.resumableTtlMs,
          writeTemps: this.#writeTemps,
        },
        kept,
      );
      removed.push(...names.map((n) => `${dir}/${n}`));
    }
    // The newest partials are the likeliest to be resumed: keep those, drop from the oldest.
    kept.sort((a, b) => b.mtimeMs - a.mtimeMs);
    const overCap: string[] = [];
    let total = 0;
    for (const p of kept) {
      total += p.size;
      if (total <= this.#policy.maxResumableBytes) continue;
      const gone = await rm(p.path, { force: true }).then(
        () => true,
        () => false,
      );
      if (gone) overCap.push(p.path);
    }
    return { removed, overCap };
  }

  #save(): Promise<void> {
    this.#saving = this.#saving
      .then(async () => {
        const body = JSON.stringify({ v: 1, dirs: Object.fromEntries(this.#dirs) });
        await mkdir(dirname(this.#file), { recursive: true, mode: 0o700 });
        const temp = `${this.#file}.${process.pid}.tmp`;
        await writeFile(temp, body, { mode: 0o600 });
        await rename(temp, this.#file);
      })
      .catch(() => undefined);
    return this.#saving;
  }
}
