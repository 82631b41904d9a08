import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { type ReachError, toReachError } from '../errors.ts';

/**
 * What one end knows of the mutations it carried out, keyed by operation id, kept on disk so a
 * restart still answers `operation_status` and a retry with the same key replays the recorded
 * result instead of doing the work again.
 *
 * The file is an append-only log of JSON lines (`started`, then `applied` or `failed`): a crash
 * mid-append leaves at most one torn last line, which the next load skips. `applied` lines are
 * fdatasync'd before the caller is answered; `started` lines are not (losing one only turns
 * "interrupted" into "never received", both not applied). When the log passes its bounds it is
 * rewritten atomically (temp file, fsync, rename) with the newest quarter trimmed off the bounds.
 */

/** `applied`: the outcome is recorded. The other states hold for interrupted or failed work. */
export type OperationState = 'started' | 'applied' | 'failed';

/** A destination and the content an operation puts there: how an interrupted write is judged. */
export const OperationIntent = z.object({
  path: z.string().max(4096),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  /** The result to record when the destination is found to hold this content. */
  result: z.record(z.string(), z.unknown()),
});
export type OperationIntent = z.infer<typeof OperationIntent>;

const Line = z.union([
  z.object({ pruned_through: z.number() }),
  z.object({
    id: z.string().min(1).max(128),
    op: z.string().max(64),
    state: z.enum(['started', 'applied', 'failed']),
    at: z.number(),
    result: z.unknown().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    intent: OperationIntent.optional(),
  }),
]);

export interface OperationRecord {
  id: string;
  op: string;
  state: OperationState;
  /** When the record was last changed, ms since the epoch. */
  at: number;
  result?: unknown;
  error?: { code: string; message: string };
  intent?: OperationIntent;
}

/** What `operation_status` answers. */
export interface OperationStatus {
  status: 'applied' | 'not_applied' | 'in_progress' | 'unknown';
  op?: string;
  result?: unknown;
  reason?: string;
  at?: string;
}

export interface OperationJournalOptions {
  file: string;
  /** Records kept (default 10,000). */
  maxEntries?: number;
  /** Bytes the log file may reach before it is compacted (default 8 MiB). */
  maxBytes?: number;
  now?: () => number;
}

/** Default bounds: 10,000 operations, 8 MiB of log — a few hours of a busy client's mutations. */
const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
/** Interrupted writes larger than this are not hashed to judge them (answered not_applied). */
const MAX_RECONCILE_BYTES = 1024 * 1024 * 1024;

export class OperationJournal {
  readonly #opts: Required<OperationJournalOptions>;
  readonly #records = new Map<string, { record: OperationRecord; bytes: number }>();
  readonly #running = new Map<string, Promise<unknown>>();
  #bytes = 0;
  #prunedThrough = 0;
  #fh: FileHandle | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(opts: OperationJournalOptions) {
    this.#opts = {
      maxEntries: DEFAULT_MAX_ENTRIES,
      maxBytes: DEFAULT_MAX_BYTES,
      now: Date.now,
      ...opts,
    };
  }

  /** Loads the log (a missing file is an empty journal) and opens it for appends. */
  async start(): Promise<void> {
    await mkdir(dirname(this.#opts.file), { recursive: true, mode: 0o700 });
    let text = '';
    try {
      text = await readFile(this.#opts.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      let parsed: z.infer<typeof Line>;
      try {
        parsed = Line.parse(JSON.parse(raw));
      } catch {
        continue; // a torn last line, or a line from a newer version
      }
      if ('pruned_through' in parsed) {
        this.#prunedThrough = Math.max(this.#prunedThrough, parsed.pruned_through);
        continue;
      }
      this.#put(parsed as OperationRecord, Buffer.byteLength(raw) + 1);
    }
    this.#fh = await open(this.#opts.file, 'a', 0o600);
    this.#bytes = (await this.#fh.stat()).size;
  }

  get size(): number {
    return this.#records.size;
  }

  get(id: string): OperationRecord | undefined {
    return this.#records.get(id)?.record;
  }

  /**
   * Runs `work` as operation `id` once: while it runs, a second call with the same id waits for
   * the first and gets its result; once applied, a call gets the recorded result (with
   * `replayed: true`) and `work` is not run. A failed operation made no lasting change and runs
   * again. `record` picks what of the result is kept (bounded); `intent` names the destination
   * and content, so an interrupted run can be judged by what the destination holds.
   */
  async run<T extends object>(
    id: string,
    op: string,
    work: () => Promise<T>,
    opts: { record?: ((result: T) => unknown) | undefined; intent?: OperationIntent | undefined } = {},
  ): Promise<T | Record<string, unknown>> {
    const running = this.#running.get(id);
    if (running) return { ...((await running) as object), replayed: true };
    const prior = this.get(id);
    if (prior?.state === 'applied') return { ...(prior.result as object), replayed: true };
    if (prior?.state === 'started') {
      const judged = await this.#judge(prior);
      if (judged.status === 'applied') return { ...(judged.result as object), replayed: true };
    }
    const task = (async () => {
      await this.#append({ id, op, state: 'started', at: this.#opts.now(), intent: opts.intent }, false);
      let result: T;
      try {
        result = await work();
      } catch (err) {
        const e: ReachError = toReachError(err);
        await this.#append(
          { id, op, state: 'failed', at: this.#opts.now(), error: { code: e.code, message: e.message } },
          false,
        ).catch(() => undefined);
        throw err;
      }
      const kept = opts.record ? opts.record(result) : result;
      await this.#append({ id, op, state: 'applied', at: this.#opts.now(), result: kept }, true);
      return result;
    })();
    this.#running.set(id, task);
    try {
      return await task;
    } finally {
      this.#running.delete(id);
    }
  }

  /**
   * Names what running operation `id` is about to put where, just before its destination is
   * renamed into place, so a crash between that rename and the `applied` record is judged by what
   * the destination holds (#judge) rather than read as not applied. Synced: the line must be on
   * disk before the rename can be. A no-op unless `id` is running here.
   */
  async intend(id: string, intent: OperationIntent): Promise<void> {
    const r = this.get(id);
    if (!r || !this.#running.has(id)) return;
    await this.#append({ id, op: r.op, state: 'started', at: this.#opts.now(), intent }, true);
  }

  /** What is known of operation `id` here. */
  async status(id: string): Promise<OperationStatus> {
    if (this.#running.has(id)) {
      const r = this.get(id);
      return { status: 'in_progress', op: r?.op, reason: 'still running', at: iso(r?.at) };
    }
    const r = this.get(id);
    if (!r) {
      if (this.#prunedThrough > 0) {
        return {
          status: 'unknown',
          reason: `not in the journal, which has dropped records up to ${iso(this.#prunedThrough)}`,
        };
      }
      return { status: 'not_applied', reason: 'never received' };
    }
    if (r.state === 'applied') return { status: 'applied', op: r.op, result: r.result, at: iso(r.at) };
    if (r.state === 'failed') {
      return {
        status: 'not_applied',
        op: r.op,
        reason: `failed with ${r.error?.code ?? 'an error'}: ${r.error?.message ?? ''}`.trim(),
        at: iso(r.at),
      };
    }
    return this.#judge(r);
  }

  /** An operation started by an earlier process that never finished: the destination decides. */
  async #judge(r: OperationRecord): Promise<OperationStatus> {
    const base = { op: r.op, at: iso(r.at) };
    const interrupted = 'interrupted: the process stopped while it ran';
    if (!r.intent) return { status: 'not_applied', ...base, reason: interrupted };
    if ((await sha256OfFile(r.intent.path, r.intent.size)) === r.intent.sha256) {
      return {
        status: 'applied',
        ...base,
        result: r.intent.result,
        reason: `${interrupted}, after its destination received the new content`,
      };
    }
    return {
      status: 'not_applied',
      ...base,
      reason: `${interrupted}; the destination does not hold the new content`,
    };
  }

  /** Waits for pending appends and closes the log. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#fh?.close();
    this.#fh = undefined;
  }

  #put(record: OperationRecord, bytes: number): void {
    const old = this.#records.get(record.id);
    // A re-insert moves the id to the end, so eviction order is the order of last change.
    this.#records.delete(record.id);
    const merged: OperationRecord = { ...record };
    if (old?.record.intent && !merged.intent && record.state === 'started') merged.intent = old.record.intent;
    this.#records.set(record.id, { record: merged, bytes: (old?.bytes ?? 0) + bytes });
  }

  #append(record: OperationRecord, durable: boolean): Promise<void> {
    const clean = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
    const line = `${JSON.stringify(clean)}\n`;
    this.#put(record, Buffer.byteLength(line));
    const next = this.#queue.then(async () => {
      if (!this.#fh) return;
      await this.#fh.appendFile(line);
      this.#bytes += Buffer.byteLength(line);
      if (durable) await this.#fh.datasync();
      if (this.#records.size > this.#opts.maxEntries || this.#bytes > this.#opts.maxBytes) {
        await this.#compact();
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Drops the oldest finished records to ¾ of both bounds and rewrites the log atomically. */
  async #compact(): Promise<void> {
    const entryGoal = Math.floor((this.#opts.maxEntries * 3) / 4);
    const byteGoal = Math.floor((this.#opts.maxBytes * 3) / 4);
    const lines = new Map<string, string>();
    let total = 0;
    for (const [id, { record }] of this.#records) {
      const l = `${JSON.stringify(record)}\n`;
      lines.set(id, l);
      total += Buffer.byteLength(l);
    }
    for (const [id, { record }] of this.#records) {
      if (lines.size <= entryGoal && total <= byteGoal) break;
      if (this.#running.has(id)) continue;
      total -= Buffer.byteLength(lines.get(id) ?? '');
      lines.delete(id);
      this.#records.delete(id);
      this.#prunedThrough = Math.max(this.#prunedThrough, record.at);
    }
    const header = `${JSON.stringify({ pruned_through: this.#prunedThrough })}\n`;
    const temp = `${this.#opts.file}.${process.pid}.tmp`;
    const out = await open(temp, 'w', 0o600);
    try {
      await out.writeFile(header + [...lines.values()].join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await this.#fh?.close();
    await rename(temp, this.#opts.file);
    const dir = await open(dirname(this.#opts.file), 'r');
    await dir.sync().finally(() => dir.close());
    this.#fh = await open(this.#opts.file, 'a', 0o600);
    this.#bytes = Buffer.byteLength(header) + total;
    for (const [id, l] of lines) {
      const e = this.#records.get(id);
      if (e) e.bytes = Buffer.byteLength(l);
    }
  }
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** SHA-256 of `path` when it is a regular file of `size` bytes; undefined otherwise. */
async function sha256OfFile(path: string, size: number): Promise<string | undefined> {
  try {
    const st = await stat(path);
    if (!st.isFile() || st.size !== size || size > MAX_RECONCILE_BYTES) return undefined;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}
