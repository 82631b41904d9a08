import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { LastUpdate } from '@reach/protocol';
import { ReachError } from '@reach/protocol';
import { toClientRecord } from './to-client-record.ts';

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

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  get(uuid: string): ClientRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM clients WHERE uuid = ?').get(uuid);
    return row === undefined ? undefined : toClientRecord(row);
  }

  /** Looks a client up by uuid, then client_id, then display name (both case-insensitive). */
  findByRef(ref: string): ClientRecord | undefined {
    const row =
      this.#db.prepare('SELECT * FROM clients WHERE uuid = ?').get(ref.toLowerCase()) ??
      this.#db
        .prepare('SELECT * FROM clients WHERE client_id = ? COLLATE NOCASE ORDER BY last_seen DESC LIMIT 1')
        .get(ref) ??
      this.#db
        .prepare(
          'SELECT * FROM clients WHERE display_name = ? COLLATE NOCASE ORDER BY last_seen DESC LIMIT 1',
        )
        .get(ref);
    return row === undefined ? undefined : toClientRecord(row);
  }

  list(): ClientRecord[] {
    return this.#db
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
    return this.#db
      .prepare(
        `SELECT uuid, display_name FROM clients
         WHERE instr(lower(display_name), ?) > 0 OR instr(lower(coalesce(client_id, '')), ?) > 0
           OR instr(uuid, ?) > 0 OR lower(display_name) LIKE ? ESCAPE '\\'
         ORDER BY display_name COLLATE NOCASE, uuid LIMIT ?`,
      )
      .all(needle, needle, needle, prefix, limit)
      .map((r) => ({ uuid: String(r.uuid), display_name: String(r.display_name) }));
  }

  count(): number {
    const row = this.#db.prepare('SELECT COUNT(*) AS n FROM clients').get() as { n: number };
    return row.n;
  }

  /** Clients whose pending (unaccepted) key has this fingerprint. */
  findByPendingFingerprint(fingerprint: string): ClientRecord[] {
    return this.#db
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
    this.#db
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
    this.#db
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

  /** Another key claimed this UUID: flag it and keep the key for an operator to accept. */
  recordKeyMismatch(uuid: string, key: { public_key: string; fingerprint: string }): ClientRecord {
    this.#db
      .prepare(
        'UPDATE clients SET key_mismatch = 1, pending_public_key = ?, pending_fingerprint = ? WHERE uuid = ?',
      )
      .run(key.public_key, key.fingerprint, uuid);
    return this.#mustGet(uuid);
  }

  /** The operator trusts the pending key: it replaces the bound one, which becomes `previous`. */
  acceptKey(uuid: string): ClientRecord {
    this.#db
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
    this.#db.prepare('UPDATE clients SET last_seen = ? WHERE uuid = ?').run(at, uuid);
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
      this.#db.prepare(`UPDATE clients SET ${sets.join(', ')} WHERE uuid = ?`).run(...values, uuid);
    }
    return this.#mustGet(uuid);
  }

  #mustGet(uuid: string): ClientRecord {
    const record = this.get(uuid);
    if (!record) throw new ReachError('CLIENT_NOT_FOUND', `no client with uuid ${uuid}`);
    return record;
  }
}
