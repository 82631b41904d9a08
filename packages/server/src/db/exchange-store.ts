import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { z } from 'zod';

export const EXCHANGE_STATES = ['stored', 'pending', 'delivered', 'failed', 'deleted', 'expired'] as const;
export type ExchangeState = (typeof EXCHANGE_STATES)[number];

/** One exchange as stored; times in ms since the epoch. */
export const ExchangeRow = z.object({
  transfer_id: z.string(),
  object_key: z.string(),
  source_client: z.string(),
  dest_client: z.string().nullable(),
  dest_path: z.string().nullable(),
  filename: z.string(),
  size: z.number(),
  sha256: z.string(),
  state: z.enum(EXCHANGE_STATES),
  error: z.string().nullable(),
  created_at: z.number(),
  expires_at: z.number(),
  delivered_at: z.number().nullable(),
});
export type ExchangeRow = z.infer<typeof ExchangeRow>;

/** The exchanges table (the only SQL about bucket exchanges). */
export class ExchangeStore {
  readonly #db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  insert(row: ExchangeRow): void {
    this.#db
      .prepare(
        `INSERT INTO exchanges (transfer_id, object_key, source_client, dest_client, dest_path, filename,
           size, sha256, state, error, created_at, expires_at, delivered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.transfer_id,
        row.object_key,
        row.source_client,
        row.dest_client,
        row.dest_path,
        row.filename,
        row.size,
        row.sha256,
        row.state,
        row.error,
        row.created_at,
        row.expires_at,
        row.delivered_at,
      );
  }

  get(transferId: string): ExchangeRow | undefined {
    const r = this.#db.prepare('SELECT * FROM exchanges WHERE transfer_id = ?').get(transferId);
    return r === undefined ? undefined : ExchangeRow.parse(r);
  }

  byKey(key: string): ExchangeRow | undefined {
    const r = this.#db.prepare('SELECT * FROM exchanges WHERE object_key = ?').get(key);
    return r === undefined ? undefined : ExchangeRow.parse(r);
  }

  /** Exchanges waiting for `destClient` to connect, oldest first. */
  pendingFor(destClient: string): ExchangeRow[] {
    return this.#db
      .prepare("SELECT * FROM exchanges WHERE dest_client = ? AND state = 'pending' ORDER BY created_at")
      .all(destClient)
      .map((r) => ExchangeRow.parse(r));
  }

  /** Live exchanges (not deleted or expired), newest first, optionally of one client (source or destination). */
  list(client: string | undefined, limit: number): ExchangeRow[] {
    const where = ["state NOT IN ('deleted', 'expired')"];
    const args: SQLInputValue[] = [];
    if (client !== undefined) {
      where.push('(source_client = ? OR dest_client = ?)');
      args.push(client, client);
    }
    args.push(limit);
    return this.#db
      .prepare(`SELECT * FROM exchanges WHERE ${where.join(' AND ')} ORDER BY created_at DESC LIMIT ?`)
      .all(...args)
      .map((r) => ExchangeRow.parse(r));
  }

  /** Live exchanges whose expiry has passed. */
  expired(now: number, limit: number): ExchangeRow[] {
    return this.#db
      .prepare(
        "SELECT * FROM exchanges WHERE expires_at <= ? AND state NOT IN ('deleted', 'expired') LIMIT ?",
      )
      .all(now, limit)
      .map((r) => ExchangeRow.parse(r));
  }

  setState(
    transferId: string,
    state: ExchangeState,
    extra: { error?: string | null; delivered_at?: number } = {},
  ): void {
    this.#db
      .prepare(
        'UPDATE exchanges SET state = ?, error = ?, delivered_at = COALESCE(?, delivered_at) WHERE transfer_id = ?',
      )
      .run(state, extra.error ?? null, extra.delivered_at ?? null, transferId);
  }
}
