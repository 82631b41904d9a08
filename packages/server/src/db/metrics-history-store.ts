import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { z } from 'zod';

/** One metrics sample of one client; null where the client did not say. */
export interface MetricsSample {
  at_ms: number;
  cpu_percent: number | null;
  memory_percent: number | null;
  disk_percent: number | null;
  net_rx_bps: number | null;
  net_tx_bps: number | null;
}

const Row = z.object({
  at: z.number(),
  cpu_percent: z.number().nullable(),
  memory_percent: z.number().nullable(),
  disk_percent: z.number().nullable(),
  net_rx_bps: z.number().nullable(),
  net_tx_bps: z.number().nullable(),
});

/** 7 days at one sample per 30 s is 20,160 rows per client: a plot never needs more than this. */
const MAX_ROWS = 20_160;

/** Metrics history in SQLite (the only SQL about it). */
export class MetricsHistoryStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #range: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT OR REPLACE INTO metrics_history
         (client_uuid, at, cpu_percent, memory_percent, disk_percent, net_rx_bps, net_tx_bps)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#range = db.prepare(
      `SELECT at, cpu_percent, memory_percent, disk_percent, net_rx_bps, net_tx_bps FROM metrics_history
       WHERE client_uuid = ? AND at >= ? AND at < ? ORDER BY at DESC LIMIT ?`,
    );
  }

  insert(uuid: string, s: MetricsSample): void {
    this.#insert.run(
      uuid,
      s.at_ms,
      s.cpu_percent,
      s.memory_percent,
      s.disk_percent,
      s.net_rx_bps,
      s.net_tx_bps,
    );
  }

  /** Samples of `uuid` in [since, until), oldest first (the newest MAX_ROWS of them). */
  range(uuid: string, since: number, until: number): MetricsSample[] {
    return this.#range
      .all(uuid, since, until, MAX_ROWS)
      .map((r) => {
        const { at, ...rest } = Row.parse(r);
        return { at_ms: at, ...rest };
      })
      .reverse();
  }

  /** Deletes samples older than `before` (ms); returns how many. */
  prune(before: number): number {
    return Number(this.#db.prepare('DELETE FROM metrics_history WHERE at < ?').run(before).changes);
  }
}
