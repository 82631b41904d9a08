import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { z } from 'zod';

/** One audit row as stored; `time` in milliseconds since the epoch, `arguments` redacted JSON. */
export interface AuditRow {
  id: number;
  time: number;
  caller: string;
  client_uuid: string | null;
  /** The client's display name now (joined from `clients`), if known. */
  client_name: string | null;
  tool: string;
  arguments: string;
  outcome: string;
  duration_ms: number;
}

export type AuditInsert = Omit<AuditRow, 'id' | 'client_name'>;

export interface AuditFilter {
  /** A client uuid, or a client_id / display name (case-insensitive) resolved through `clients`. */
  client?: string;
  /** Inclusive lower bound, ms. */
  since?: number;
  /** Exclusive upper bound, ms. */
  until?: number;
  tool?: string;
  caller?: string;
  outcome?: string;
  /** Keyset paging: only rows after this one in newest-first order (older, or as old with a lower id). */
  after?: { time: number; id: number };
  limit: number;
}

const Row = z.object({
  id: z.number(),
  time: z.number(),
  caller: z.string(),
  client_uuid: z.string().nullable(),
  client_name: z.string().nullable(),
  tool: z.string(),
  arguments: z.string(),
  outcome: z.string(),
  duration_ms: z.number(),
});

/** The audit table (the only SQL about the audit trail). */
export class AuditStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO audit_log (time, caller, client_uuid, tool, arguments, outcome, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  insert(r: AuditInsert): number {
    const res = this.#insert.run(
      r.time,
      r.caller,
      r.client_uuid,
      r.tool,
      r.arguments,
      r.outcome,
      r.duration_ms,
    );
    return Number(res.lastInsertRowid);
  }

  /** Matching rows, newest first. */
  query(f: AuditFilter): AuditRow[] {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (f.client !== undefined) {
      where.push(`(a.client_uuid = ? OR a.client_uuid IN
        (SELECT uuid FROM clients WHERE client_id = ? COLLATE NOCASE OR display_name = ? COLLATE NOCASE))`);
      params.push(f.client.toLowerCase(), f.client, f.client);
    }
    if (f.since !== undefined) {
      where.push('a.time >= ?');
      params.push(f.since);
    }
    if (f.until !== undefined) {
      where.push('a.time < ?');
      params.push(f.until);
    }
    for (const [col, v] of [
      ['tool', f.tool],
      ['caller', f.caller],
      ['outcome', f.outcome],
    ] as const) {
      if (v === undefined) continue;
      where.push(`a.${col} = ?`);
      params.push(v);
    }
    if (f.after !== undefined) {
      where.push('(a.time < ? OR (a.time = ? AND a.id < ?))');
      params.push(f.after.time, f.after.time, f.after.id);
    }
    params.push(f.limit);
    return this.#db
      .prepare(
        `SELECT a.id, a.time, a.caller, a.client_uuid, c.display_name AS client_name, a.tool, a.arguments,
           a.outcome, a.duration_ms
         FROM audit_log a LEFT JOIN clients c ON c.uuid = a.client_uuid
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY a.time DESC, a.id DESC LIMIT ?`,
      )
      .all(...params)
      .map((r) => Row.parse(r));
  }

  /** Deletes rows older than `before` (ms); returns how many. */
  prune(before: number): number {
    return Number(this.#db.prepare('DELETE FROM audit_log WHERE time < ?').run(before).changes);
  }
}
