import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { ReachError } from '@reach/protocol';
import { z } from 'zod';
import type { CommandHistoryEntry, CommandHistorySink } from '../operations/command-history.ts';

/** One stored command, as GET /api/history answers it. */
export interface CommandHistoryRow {
  id: number;
  at: string;
  caller: string;
  source: string;
  client_uuid: string;
  client_name: string | null;
  cmd: string;
  cwd: string | null;
  exit_code: number | null;
  outcome: string;
  duration_ms: number;
  job_id: string | null;
}

export interface CommandHistoryQuery {
  /** Full-text over cmd: each word must appear (as a word prefix); FTS5 syntax is not interpreted. */
  q?: string | undefined;
  /** A client uuid, client_id or display name. */
  client?: string | undefined;
  exit_code?: number | undefined;
  caller?: string | undefined;
  /** Inclusive, ms. */
  since?: number | undefined;
  /** Exclusive, ms. */
  until?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

const Row = z.object({
  id: z.number(),
  at: z.number(),
  caller: z.string(),
  source: z.string(),
  client_uuid: z.string(),
  client_name: z.string().nullable(),
  cmd: z.string(),
  cwd: z.string().nullable(),
  exit_code: z.number().nullable(),
  outcome: z.string(),
  duration_ms: z.number(),
  job_id: z.string().nullable(),
});

/** Writes wait at most this long (or for BATCH entries) and go in one transaction. */
const FLUSH_MS = 200;
const BATCH = 256;
/** A stored command text is cut here: 64 KiB is far past any command a person reads back. */
const MAX_CMD_CHARS = 65_536;

/**
 * The user's words as an FTS5 query that cannot be anything else: each whitespace-separated
 * word becomes a quoted string (inner quotes doubled) with a prefix star, joined by AND.
 * `rm -rf "x" OR NEAR(` is then the words rm, rf, x, OR, NEAR, never operators.
 */
export function ftsQuery(text: string): string | undefined {
  const words = text
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .slice(0, 32);
  if (words.length === 0) return undefined;
  return words.map((w) => `"${w.replaceAll('"', '""')}"*`).join(' AND ');
}

function encodeCursor(at: number, id: number): string {
  return `${at}.${id}`;
}

function decodeCursor(cursor: string): { at: number; id: number } {
  const m = /^(\d{1,16})\.(\d{1,16})$/.exec(cursor);
  if (!m) throw new ReachError('INVALID_ARGUMENT', 'cursor: not a cursor this server gave');
  return { at: Number(m[1]), id: Number(m[2]) };
}

/**
 * Command history in SQLite (the only SQL about it). `record` never throws or blocks: entries
 * are queued and written in batches, in one transaction each; a query writes what is queued
 * first, so it sees every command recorded before it.
 */
export class CommandHistoryStore implements CommandHistorySink {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #onError: (err: unknown) => void;
  #pending: CommandHistoryEntry[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(db: DatabaseSync, onError: (err: unknown) => void = () => {}) {
    this.#db = db;
    this.#onError = onError;
    this.#insert = db.prepare(
      `INSERT INTO command_history (at, caller, source, client_uuid, cmd, cwd, exit_code, outcome, duration_ms, job_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  record(entry: CommandHistoryEntry): void {
    this.#pending.push(entry);
    if (this.#pending.length >= BATCH) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Writes every queued entry now. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    try {
      this.#db.exec('BEGIN');
      for (const e of batch) {
        this.#insert.run(
          e.at_ms,
          e.caller,
          e.source,
          e.client_uuid,
          e.cmd.slice(0, MAX_CMD_CHARS),
          e.cwd,
          e.exit_code,
          e.outcome,
          Math.round(e.duration_ms),
          e.job_id ?? null,
        );
      }
      this.#db.exec('COMMIT');
    } catch (err) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {}
      this.#onError(err);
    }
  }

  /** Matching commands, newest first, and the cursor of the next page (null on the last). */
  query(f: CommandHistoryQuery): { commands: CommandHistoryRow[]; next_cursor: string | null } {
    this.flush();
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    const match = f.q === undefined ? undefined : ftsQuery(f.q);
    if (match !== undefined) {
      where.push('h.id IN (SELECT rowid FROM command_history_fts WHERE command_history_fts MATCH ?)');
      params.push(match);
    }
    if (f.client !== undefined) {
      where.push(`(h.client_uuid = ? OR h.client_uuid IN
        (SELECT uuid FROM clients WHERE client_id = ? COLLATE NOCASE OR display_name = ? COLLATE NOCASE))`);
      params.push(f.client.toLowerCase(), f.client, f.client);
    }
    if (f.exit_code !== undefined) {
      where.push('h.exit_code = ?');
      params.push(f.exit_code);
    }
    if (f.caller !== undefined) {
      where.push('h.caller = ?');
      params.push(f.caller);
    }
    if (f.since !== undefined) {
      where.push('h.at >= ?');
      params.push(f.since);
    }
    if (f.until !== undefined) {
      where.push('h.at < ?');
      params.push(f.until);
    }
    if (f.cursor !== undefined) {
      const c = decodeCursor(f.cursor);
      where.push('(h.at < ? OR (h.at = ? AND h.id < ?))');
      params.push(c.at, c.at, c.id);
    }
    params.push(f.limit + 1);
    const rows = this.#db
      .prepare(
        `SELECT h.id, h.at, h.caller, h.source, h.client_uuid, c.display_name AS client_name, h.cmd, h.cwd,
           h.exit_code, h.outcome, h.duration_ms, h.job_id
         FROM command_history h LEFT JOIN clients c ON c.uuid = h.client_uuid
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY h.at DESC, h.id DESC LIMIT ?`,
      )
      .all(...params)
      .map((r) => Row.parse(r));
    const more = rows.length > f.limit;
    const page = rows.slice(0, f.limit);
    const last = page.at(-1);
    return {
      commands: page.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
      next_cursor: more && last ? encodeCursor(last.at, last.id) : null,
    };
  }

  /** Deletes rows older than `before` (ms); returns how many. */
  prune(before: number): number {
    this.flush();
    return Number(this.#db.prepare('DELETE FROM command_history WHERE at < ?').run(before).changes);
  }

  close(): void {
    this.flush();
  }
}
