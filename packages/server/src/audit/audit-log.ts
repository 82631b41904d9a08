import { ReachError, toReachError } from '@reach/protocol';
import type { AuditRow, AuditStore } from '../db/audit-store.ts';
import { realTimers, type Timers } from '../timers.ts';
import { redactArguments } from './redact.ts';

/** One call to record. Arguments are given raw: `record` redacts them. */
export interface AuditEntry {
  /** Who: `mcp:<session id>`, `api-key:<key id>`, `web:<user>`, … */
  caller: string;
  client_uuid?: string | null;
  /** The MCP tool or HTTP API operation. */
  tool: string;
  arguments: unknown;
  /** 'OK' or the ReachError code (see `auditOutcome`). */
  outcome: string;
  duration_ms: number;
  /** Milliseconds since the epoch; default: now. */
  time?: number;
}

/** One audit entry as returned by `query` (what `get_audit_log` and `reach-server audit --json` show). */
export interface AuditRecord {
  id: number;
  /** ISO 8601, UTC. */
  time: string;
  caller: string;
  client_uuid: string | null;
  client_name: string | null;
  tool: string;
  arguments: unknown;
  outcome: string;
  duration_ms: number;
}

export interface AuditQuery {
  /** Client uuid, client_id or display name. */
  client?: string;
  /** Milliseconds since the epoch, inclusive. */
  since?: number;
  until?: number;
  tool?: string;
  caller?: string;
  outcome?: string;
  /** Default 100, at most 10,000. */
  limit?: number;
  /** A `next_cursor` from an earlier page: the page after it. */
  cursor?: string;
}

export interface AuditPage {
  entries: AuditRecord[];
  /** null on the last page. */
  next_cursor: string | null;
}

/**
 * Page cursors are opaque to callers: base64url of `<time ms>.<id>` of a page's last row. Keyset,
 * not offset, so a row recorded while a caller pages (always newer) never shifts a later page.
 */
function encodeCursor(r: AuditRow): string {
  return Buffer.from(`${r.time}.${r.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { time: number; id: number } {
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(
    cursor.length <= 64 ? Buffer.from(cursor, 'base64url').toString('latin1') : '',
  );
  if (!m) throw new ReachError('INVALID_ARGUMENT', 'cursor: not a cursor this server gave out');
  return { time: Number(m[1]), id: Number(m[2]) };
}

export interface AuditLogOptions {
  store: AuditStore;
  /** Rows older than this are deleted by `prune()` (default 90). */
  retentionDays?: number;
  /** How often `start()` prunes (default daily). */
  pruneIntervalMs?: number;
  /** Milliseconds clock. */
  now?: () => number;
  timers?: Timers;
  /** Told about a failed `record` or scheduled prune (log it); the error never holds arguments. */
  onError?: (err: unknown) => void;
}

export const DEFAULT_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;
const MAX_LIMIT = 10_000;

/** 'OK' for a success (`undefined`), else the error's ReachError code. */
export function auditOutcome(error?: unknown): string {
  return error === undefined ? 'OK' : toReachError(error).code;
}

/**
 * The audit trail: every tool or API call that touches a client, with arguments redacted before
 * they are stored. `start()` prunes rows past the retention now and then every `pruneIntervalMs`.
 */
export class AuditLog {
  readonly #store: AuditStore;
  readonly #retentionDays: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #onError: (err: unknown) => void;
  #timer: unknown;
  #state: 'new' | 'running' | 'closed' = 'new';

  constructor(options: AuditLogOptions) {
    const days = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    if (!(days > 0)) throw new RangeError('retentionDays must be positive');
    this.#store = options.store;
    this.#retentionDays = days;
    this.#intervalMs = options.pruneIntervalMs ?? DAY_MS;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? realTimers;
    this.#onError = options.onError ?? (() => {});
  }

  get retentionDays(): number {
    return this.#retentionDays;
  }

  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    this.#scheduledPrune();
  }

  close(): void {
    this.#state = 'closed';
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Stores one entry, synchronously (tens of microseconds), with its arguments redacted. Never
   * throws — a call that already happened must not fail because of its audit row: a failed write
   * goes to `onError` and returns undefined. Returns the row id.
   */
  record(entry: AuditEntry): number | undefined {
    try {
      return this.#store.insert({
        time: entry.time ?? this.#now(),
        caller: entry.caller,
        client_uuid: entry.client_uuid ?? null,
        tool: entry.tool,
        arguments: JSON.stringify(redactArguments(entry.arguments ?? {})) ?? '{}',
        outcome: entry.outcome,
        duration_ms: Math.max(0, Math.round(entry.duration_ms)),
      });
    } catch (err) {
      this.#onError(err);
      return undefined;
    }
  }

  /** Matching entries, newest first (one page; see `page` for the cursor). */
  query(q: AuditQuery = {}): AuditRecord[] {
    return this.page(q).entries;
  }

  /** One page of matching entries, newest first, and the cursor of the next (null at the end). */
  page(q: AuditQuery = {}): AuditPage {
    const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(q.limit ?? 100)));
    const { cursor, ...filter } = q;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    // One row more than asked says whether another page exists without a COUNT.
    const rows = this.#store.query({ ...filter, ...(after ? { after } : {}), limit: limit + 1 });
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page.at(-1);
    return { entries: page.map(toRecord), next_cursor: more && last ? encodeCursor(last) : null };
  }

  /** Deletes entries older than `olderThanDays` (default: the retention). Returns how many. */
  prune(olderThanDays = this.#retentionDays): number {
    return this.#store.prune(this.#now() - olderThanDays * DAY_MS);
  }

  #scheduledPrune(): void {
    if (this.#state !== 'running') return;
    try {
      this.prune();
    } catch (err) {
      this.#onError(err);
    }
    this.#timer = this.#timers.setTimeout(() => this.#scheduledPrune(), this.#intervalMs);
  }
}

function toRecord(r: AuditRow): AuditRecord {
  let args: unknown;
  try {
    args = JSON.parse(r.arguments);
  } catch {
    args = r.arguments;
  }
  return {
    id: r.id,
    time: new Date(r.time).toISOString(),
    caller: r.caller,
    client_uuid: r.client_uuid,
    client_name: r.client_name,
    tool: r.tool,
    arguments: args,
    outcome: r.outcome,
    duration_ms: r.duration_ms,
  };
}
