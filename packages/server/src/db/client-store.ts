import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { LastUpdate } from '@reach/protocol';
import { ReachError } from '@reach/protocol';
import { type ClientFilter, clientFilterSql, ONLINE_TABLE, type PageKey } from './client-filter-sql.ts';
import { StatementCache } from './statement-cache.ts';
import { toClientRecord } from './to-client-record.ts';

export type { ClientFilter, PageKey } from './client-filter-sql.ts';

/** Where and as whom a client last connected (from its `hello`; informational, not identity). */
export interface ConnectionInfo {
  client_id: string;
  hostname: string;
  platform: string;
  username: string;
  connected_at: string;
}

/** One known client as stored. Times are ISO 8601 strings. */
export interface ClientRecord {
  uuid: string;
  display_name: string;
  /** True once an operator set the display name; registration no longer overwrites it. */
  display_name_locked: boolean;
  purpose: string;
  purpose_locked: boolean;
  tags: string[];
  tags_locked: boolean;
  capabilities: string[];
  /** The trusted key, `<type> <base64>`: the first one that registered this UUID, or the accepted one. */
  public_key: string;
  fingerprint: string;
  first_seen: string;
  last_seen: string | null;
  connection_count: number;
  /** A connection with another key claimed this UUID; its key waits in `pending_*` for accept. */
  key_mismatch: boolean;
  previous_fingerprint: string | null;
  pending_public_key: string | null;
  pending_fingerprint: string | null;
  allowed_paths: string[];
  webhook_url: string | null;
  rate_limit_rpm: number | null;
  rate_limit_concurrent: number | null;
  last_connection: ConnectionInfo | null;
}

/** What a client reports about itself at registration. */
export interface RegistrationInfo {
  display_name: string;
  purpose: string;
  tags: string[];
  capabilities: string[];
  connection: ConnectionInfo;
  /** What this connection's hello said about updates (not stored: a rollout reads it live). */
  update?: ClientUpdateInfo;
}

/** A client's version, auto_update and last self-update, as its hello reported them (#16). */
export interface ClientUpdateInfo {
  version: string;
  /** false when the client's config says auto_update: false; true when absent (older clients). */
  auto_update: boolean;
  last_update?: LastUpdate | undefined;
}

export interface OperatorPatch {
  display_name?: string | null;
  purpose?: string | null;
  tags?: string[] | null;
  allowed_paths?: string[] | null;
}

export interface ConfigurePatch {
  webhook_url?: string | null;
  rate_limit_rpm?: number | null;
  rate_limit_concurrent?: number | null;
}

/** The persistent client table (the only SQL about clients). */
export class ClientStore {
  readonly #db: DatabaseSync;
  readonly #sql: StatementCache;
  #onlineTableReady = false;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#sql = new StatementCache(db);
  }

  get(uuid: string): ClientRecord | undefined {
    const row = this.#sql.prepare('SELECT * FROM clients WHERE uuid = ?').get(uuid);
    return row === undefined ? undefined : toClientRecord(row);
  }

  /** Looks a client up by uuid, then client_id, then display name (both case-insensitive). */
  findByRef(ref: string): ClientRecord | undefined {
    const row =
      this.#sql.prepare('SELECT * FROM clients WHERE uuid = ?').get(ref.toLowerCase()) ??
      this.#sql
        .prepare('SELECT * FROM clients WHERE client_id = ? COLLATE NOCASE ORDER BY last_seen DESC LIMIT 1')
        .get(ref) ??
      this.#sql
        .prepare(
          'SELECT * FROM clients WHERE display_name = ? COLLATE NOCASE ORDER BY last_seen DESC LIMIT 1',
        )
        .get(ref);
    return row === undefined ? undefined : toClientRecord(row);
  }

  list(): ClientRecord[] {
    return this.#sql
      .prepare('SELECT * FROM clients ORDER BY display_name COLLATE NOCASE, uuid')
      .all()
      .map(toClientRecord);
  }

  /**
   * At most `limit` clients whose display name, client_id or uuid contains `ref` or shares its
   * first three characters (case-insensitive): the "did you mean" of CLIENT_NOT_FOUND, bounded so
   * an error never carries the whole fleet.
   */
  closeMatches(ref: string, limit: number): Array<{ uuid: string; display_name: string }> {
    const needle = ref.toLowerCase();
    const prefix = `${needle.slice(0, 3).replace(/[\\%_]/g, '\\$&')}%`;
    return this.#sql
      .prepare(
        `SELECT uuid, display_name FROM clients
         WHERE instr(lower(display_name), ?) > 0 OR instr(lower(coalesce(client_id, '')), ?) > 0
           OR instr(uuid, ?) > 0 OR lower(display_name) LIKE ? ESCAPE '\\'
         ORDER BY display_name COLLATE NOCASE, uuid LIMIT ?`,
      )
      .all(needle, needle, needle, prefix, limit)
      .map((r) => ({ uuid: String(r.uuid), display_name: String(r.display_name) }));
  }

  /**
   * Up to `limit` clients matching `filter`, in (display_name COLLATE NOCASE, uuid) order, strictly
   * after `after`: keyset paging, so rows inserted or removed elsewhere never shift a page.
   */
  page(filter: ClientFilter, limit: number, after?: PageKey): ClientRecord[] {
    this.#ensureOnlineTable();
    const { where, params } = clientFilterSql(filter, after);
    return this.#sql
      .prepare(`SELECT * FROM clients WHERE ${where} ORDER BY display_name COLLATE NOCASE, uuid LIMIT ?`)
      .all(...params, limit)
      .map(toClientRecord);
  }

  /**
   * How many clients match `filter` (all pages), and how many of those are in the online set: one
   * scan for both (a filter on text or tags reads every row: ~8 ms at 10,000 clients).
   */
  countMatching(filter: ClientFilter): { total: number; online: number } {
    this.#ensureOnlineTable();
    const { where, params } = clientFilterSql(filter);
    const row = this.#sql
      .prepare(
        `SELECT COUNT(*) AS total,
           COALESCE(SUM(EXISTS (SELECT 1 FROM ${ONLINE_TABLE} o WHERE o.uuid = clients.uuid)), 0) AS online
         FROM clients WHERE ${where}`,
      )
      .get(...params) as { total: number; online: number };
    return { total: row.total, online: row.online };
  }

  /**
   * Marks a uuid in or out of the online set that `page`'s `online` filter reads: a temp table
   * kept in step with the registry, so an online_only page costs ~0.8 ms at 10,000 clients where
   * passing 5,000 online uuids as a JSON array to json_each on every call cost 6–10 ms.
   */
  setOnline(uuid: string, online: boolean): void {
    this.#ensureOnlineTable();
    this.#sql
      .prepare(
        online
          ? `INSERT OR IGNORE INTO ${ONLINE_TABLE} (uuid) VALUES (?)`
          : `DELETE FROM ${ONLINE_TABLE} WHERE uuid = ?`,
      )
      .run(uuid);
  }

  count(): number {
    const row = this.#sql.prepare('SELECT COUNT(*) AS n FROM clients').get() as { n: number };
    return row.n;
  }

  /** Clients whose pending (unaccepted) key has this fingerprint. */
  findByPendingFingerprint(fingerprint: string): ClientRecord[] {
    return this.#sql
      .prepare('SELECT * FROM clients WHERE pending_fingerprint = ? AND key_mismatch = 1')
      .all(fingerprint)
      .map(toClientRecord);
  }

  /** A first registration: the UUID is bound to this key from now on. */
  insert(
    uuid: string,
    key: { public_key: string; fingerprint: string },
    info: RegistrationInfo,
  ): ClientRecord {
    const c = info.connection;
    this.#sql
      .prepare(
        `INSERT INTO clients (uuid, display_name, purpose, tags, capabilities, public_key, fingerprint,
           first_seen, last_seen, connection_count, client_id, hostname, platform, username, connected_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
      )
      .run(
        uuid,
        info.display_name,
        info.purpose,
        JSON.stringify(info.tags),
        JSON.stringify(info.capabilities),
        key.public_key,
        key.fingerprint,
        c.connected_at,
        c.connected_at,
        c.client_id,
        c.hostname,
        c.platform,
        c.username,
        c.connected_at,
      );
    return this.#mustGet(uuid);
  }

  /**
   * A reconnect with the trusted key: connection bookkeeping and self-reported fields, except
   * those an operator has set (locked), which survive every reconnect.
   */
  recordConnection(uuid: string, info: RegistrationInfo): ClientRecord {
    const c = info.connection;
    this.#sql
      .prepare(
        `UPDATE clients SET
           display_name = CASE WHEN display_name_locked = 1 THEN display_name ELSE ? END,
           purpose = CASE WHEN purpose_locked = 1 THEN purpose ELSE ? END,
           tags = CASE WHEN tags_locked = 1 THEN tags ELSE ? END,
           capabilities = ?, last_seen = ?, connection_count = connection_count + 1,
           client_id = ?, hostname = ?, platform = ?, username = ?, connected_at = ?
         WHERE uuid = ?`,
      )
      .run(
        info.display_name,
        info.purpose,
        JSON.stringify(info.tags),
        JSON.stringify(info.capabilities),
        c.connected_at,
        c.client_id,
        c.hostname,
        c.platform,
        c.username,
        c.connected_at,
        uuid,
      );
    return this.#mustGet(uuid);
  }

  /**
   * Marks the self-update that started at `startedAt` as reported for `uuid`: true the first time
   * (the caller sends its webhook), false when it already was (a reconnect, a server restart).
   */
  claimUpdateReport(uuid: string, startedAt: string): boolean {
    const r = this.#sql
      .prepare('UPDATE clients SET update_reported = ? WHERE uuid = ? AND update_reported IS NOT ?')
      .run(startedAt, uuid, startedAt);
    return Number(r.changes) === 1;
  }

  /** Another key claimed this UUID: flag it and keep the key for an operator to accept. */
  recordKeyMismatch(uuid: string, key: { public_key: string; fingerprint: string }): ClientRecord {
    this.#sql
      .prepare(
        'UPDATE clients SET key_mismatch = 1, pending_public_key = ?, pending_fingerprint = ? WHERE uuid = ?',
      )
      .run(key.public_key, key.fingerprint, uuid);
    return this.#mustGet(uuid);
  }

  /** The operator trusts the pending key: it replaces the bound one, which becomes `previous`. */
  acceptKey(uuid: string): ClientRecord {
    this.#sql
      .prepare(
        `UPDATE clients SET
           previous_fingerprint = CASE WHEN pending_fingerprint IS NOT NULL THEN fingerprint ELSE previous_fingerprint END,
           public_key = COALESCE(pending_public_key, public_key),
           fingerprint = COALESCE(pending_fingerprint, fingerprint),
           pending_public_key = NULL, pending_fingerprint = NULL, key_mismatch = 0
         WHERE uuid = ?`,
      )
      .run(uuid);
    return this.#mustGet(uuid);
  }

  touchLastSeen(uuid: string, at: string): void {
    this.touchLastSeenMany([[uuid, at]]);
  }

  /**
   * Writes many last_seen times in one transaction (one WAL commit, not one per client). A time
   * older than the stored one is ignored: a batched disconnect never undoes the reconnect that
   * followed it (ISO 8601 UTC strings order as times).
   */
  touchLastSeenMany(entries: Iterable<readonly [uuid: string, at: string]>): void {
    const update = this.#sql.prepare(
      'UPDATE clients SET last_seen = ? WHERE uuid = ? AND (last_seen IS NULL OR last_seen < ?)',
    );
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const [uuid, at] of entries) update.run(at, uuid, at);
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Operator edits; `null` clears. Edited self-reported fields are locked against registration. */
  update(uuid: string, patch: OperatorPatch): ClientRecord {
    const sets: string[] = [];
    const values: SQLInputValue[] = [];
    if (patch.display_name !== undefined) {
      sets.push('display_name = ?', 'display_name_locked = ?');
      values.push(patch.display_name ?? '', patch.display_name === null ? 0 : 1);
    }
    if (patch.purpose !== undefined) {
      sets.push('purpose = ?', 'purpose_locked = ?');
      values.push(patch.purpose ?? '', patch.purpose === null ? 0 : 1);
    }
    if (patch.tags !== undefined) {
      sets.push('tags = ?', 'tags_locked = ?');
      values.push(JSON.stringify(patch.tags ?? []), patch.tags === null ? 0 : 1);
    }
    if (patch.allowed_paths !== undefined) {
      sets.push('allowed_paths = ?');
      values.push(JSON.stringify(patch.allowed_paths ?? []));
    }
    return this.#patch(uuid, sets, values);
  }

  configure(uuid: string, patch: ConfigurePatch): ClientRecord {
    const sets: string[] = [];
    const values: SQLInputValue[] = [];
    for (const key of ['webhook_url', 'rate_limit_rpm', 'rate_limit_concurrent'] as const) {
      if (patch[key] === undefined) continue;
      sets.push(`${key} = ?`);
      values.push(patch[key] ?? null);
    }
    return this.#patch(uuid, sets, values);
  }

  #patch(uuid: string, sets: string[], values: SQLInputValue[]): ClientRecord {
    if (sets.length > 0) {
      this.#sql.prepare(`UPDATE clients SET ${sets.join(', ')} WHERE uuid = ?`).run(...values, uuid);
    }
    return this.#mustGet(uuid);
  }

  #ensureOnlineTable(): void {
    if (this.#onlineTableReady) return;
    // TEMP: the online set is this process's registry, never persisted (it starts empty after a
    // restart, as the registry does). WITHOUT ROWID: the uuid is the whole row.
    this.#db.exec(`CREATE TABLE IF NOT EXISTS ${ONLINE_TABLE} (uuid TEXT PRIMARY KEY) WITHOUT ROWID`);
    this.#onlineTableReady = true;
  }

  #mustGet(uuid: string): ClientRecord {
    const record = this.get(uuid);
    if (!record) throw new ReachError('CLIENT_NOT_FOUND', `no client with uuid ${uuid}`);
    return record;
  }
}
