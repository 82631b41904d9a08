import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { z } from 'zod';

/** One event for one target URL, as stored. Times are milliseconds since the epoch. */
export interface OutboxRow {
  /** Insertion order; the per-target delivery order. */
  seq: number;
  /** Idempotency id of the event (shared by all its targets; sent as `X-Webhook-Id`). */
  id: string;
  event: string;
  client_uuid: string;
  url: string;
  /** The exact JSON body sent on every attempt. */
  body: string;
  status: 'pending' | 'dead';
  attempts: number;
  created_at: number;
  /** Start of the current retry window (created_at, or the time of a requeue). */
  retry_since: number;
  next_attempt_at: number;
  last_attempt_at: number | null;
  last_error: string | null;
  dead_at: number | null;
}

/** What `insert` needs for one row. */
export interface OutboxInsert {
  id: string;
  event: string;
  client_uuid: string;
  url: string;
  body: string;
  created_at: number;
}

/** A (client, URL) pair whose events are delivered in order, one at a time. */
export interface OutboxTarget {
  client_uuid: string;
  url: string;
}

const Row = z.object({
  seq: z.number(),
  id: z.string(),
  event: z.string(),
  client_uuid: z.string(),
  url: z.string(),
  body: z.string(),
  status: z.enum(['pending', 'dead']),
  attempts: z.number(),
  created_at: z.number(),
  retry_since: z.number(),
  next_attempt_at: z.number(),
  last_attempt_at: z.number().nullable(),
  last_error: z.string().nullable(),
  dead_at: z.number().nullable(),
});
const Target = z.object({ client_uuid: z.string(), url: z.string() });
const Count = z.object({ n: z.number() });

/** Longest `last_error` kept (bounded; a receiver's error page can be large). */
const MAX_ERROR_CHARS = 500;

/** The webhook outbox table (the only SQL about webhooks). Single-writer: one dispatcher per file. */
export class WebhookOutboxStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #head: StatementSync;
  readonly #delete: StatementSync;
  readonly #retry: StatementSync;
  readonly #dead: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO webhook_outbox (id, event, client_uuid, url, body, created_at, retry_since, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#head = db.prepare(
      `SELECT * FROM webhook_outbox WHERE status = 'pending' AND client_uuid = ? AND url = ? ORDER BY seq LIMIT 1`,
    );
    this.#delete = db.prepare('DELETE FROM webhook_outbox WHERE seq = ?');
    this.#retry = db.prepare(
      `UPDATE webhook_outbox SET attempts = ?, last_attempt_at = ?, last_error = ?, next_attempt_at = ?
       WHERE seq = ? AND status = 'pending'`,
    );
    this.#dead = db.prepare(
      `UPDATE webhook_outbox SET status = 'dead', attempts = ?, last_attempt_at = ?, last_error = ?, dead_at = ?
       WHERE seq = ? AND status = 'pending'`,
    );
  }

  /** Inserts the rows in one transaction, due at once. A repeated (id, url) is ignored. */
  insert(rows: readonly OutboxInsert[]): void {
    if (rows.length === 0) return;
    this.#transaction(() => {
      for (const r of rows) {
        this.#insert.run(
          r.id,
          r.event,
          r.client_uuid,
          r.url,
          r.body,
          r.created_at,
          r.created_at,
          r.created_at,
        );
      }
    });
  }

  /**
   * SQLite's `data_version`: it changes when another connection (a `reach-server webhooks
   * --requeue` run, say) commits to the database, and never for this connection's own writes.
   */
  dataVersion(): number {
    const row = this.#db.prepare('PRAGMA data_version').get() as { data_version: number } | undefined;
    return Number(row?.data_version ?? 0);
  }

  /** Every target with pending rows, in the order of its oldest pending row. */
  pendingTargets(): OutboxTarget[] {
    return this.#db
      .prepare(
        `SELECT client_uuid, url, MIN(seq) AS first FROM webhook_outbox WHERE status = 'pending'
         GROUP BY client_uuid, url ORDER BY first`,
      )
      .all()
      .map((r) => Target.parse(r));
  }

  /** The oldest pending row of a target: the only one that may be sent now. */
  head(target: OutboxTarget): OutboxRow | undefined {
    const row = this.#head.get(target.client_uuid, target.url);
    return row === undefined ? undefined : Row.parse(row);
  }

  /** Delivered: the rows are removed (one transaction for the batch). */
  markDelivered(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.#transaction(() => {
      for (const seq of seqs) this.#delete.run(seq);
    });
  }

  /** A failed attempt with another one scheduled. */
  markRetry(seq: number, attempts: number, at: number, error: string, nextAttemptAt: number): void {
    this.#retry.run(attempts, at, error.slice(0, MAX_ERROR_CHARS), nextAttemptAt, seq);
  }

  /** A failed attempt after which the row is a dead letter. */
  markDead(seq: number, attempts: number, at: number, error: string): void {
    this.#dead.run(attempts, at, error.slice(0, MAX_ERROR_CHARS), at, seq);
  }

  /**
   * Dead-letters a target's pending rows created before `createdBefore` (they waited behind a
   * failing head past their retry window). Returns how many.
   */
  expireTarget(target: OutboxTarget, createdBefore: number, at: number, error: string): number {
    const r = this.#db
      .prepare(
        `UPDATE webhook_outbox SET status = 'dead', dead_at = ?, last_error = ?
         WHERE status = 'pending' AND client_uuid = ? AND url = ? AND retry_since < ?`,
      )
      .run(at, error.slice(0, MAX_ERROR_CHARS), target.client_uuid, target.url, createdBefore);
    return Number(r.changes);
  }

  /** Makes every pending row due at `at` (a restart retries at once instead of waiting out backoff). */
  makeAllDue(at: number): void {
    this.#db
      .prepare(
        `UPDATE webhook_outbox SET next_attempt_at = ? WHERE status = 'pending' AND next_attempt_at > ?`,
      )
      .run(at, at);
  }

  /** Dead letters, newest first. */
  deadLetters(limit = 100): OutboxRow[] {
    return this.#db
      .prepare(`SELECT * FROM webhook_outbox WHERE status = 'dead' ORDER BY dead_at DESC, seq DESC LIMIT ?`)
      .all(limit)
      .map((r) => Row.parse(r));
  }

  /**
   * Turns dead letters back into pending rows with a fresh retry window, due at `at`; all of them
   * when `seqs` is omitted. Returns how many rows and the targets touched.
   */
  requeue(at: number, seqs?: readonly number[]): { rows: number; targets: OutboxTarget[] } {
    return this.#transaction(() => {
      const select =
        seqs === undefined
          ? this.#db
              .prepare(`SELECT DISTINCT client_uuid, url FROM webhook_outbox WHERE status = 'dead'`)
              .all()
          : seqs.flatMap((s) =>
              this.#db
                .prepare(`SELECT client_uuid, url FROM webhook_outbox WHERE status = 'dead' AND seq = ?`)
                .all(s),
            );
      const update = this.#db.prepare(
        `UPDATE webhook_outbox SET status = 'pending', attempts = 0, retry_since = ?, next_attempt_at = ?,
           dead_at = NULL WHERE status = 'dead' AND (? IS NULL OR seq = ?)`,
      );
      let rows = 0;
      if (seqs === undefined) rows = Number(update.run(at, at, null, null).changes);
      else for (const s of seqs) rows += Number(update.run(at, at, s, s).changes);
      const targets = new Map<string, OutboxTarget>();
      for (const raw of select) {
        const t = Target.parse(raw);
        targets.set(`${t.client_uuid}\n${t.url}`, t);
      }
      return { rows, targets: [...targets.values()] };
    });
  }

  /** Deletes dead letters that died before `before`; returns how many. */
  purgeDeadLetters(before: number): number {
    const r = this.#db
      .prepare(`DELETE FROM webhook_outbox WHERE status = 'dead' AND dead_at < ?`)
      .run(before);
    return Number(r.changes);
  }

  counts(): { pending: number; dead: number } {
    const n = (status: string): number =>
      Count.parse(this.#db.prepare('SELECT COUNT(*) AS n FROM webhook_outbox WHERE status = ?').get(status))
        .n;
    return { pending: n('pending'), dead: n('dead') };
  }

  #transaction<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }
}
