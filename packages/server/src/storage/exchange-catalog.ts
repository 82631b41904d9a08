import { ReachError } from '@reach/protocol';
import type { ExchangeRow, ExchangeStore } from '../db/exchange-store.ts';
import type { Logger } from '../log/logger.ts';
import { realTimers, type Timers } from '../timers.ts';
import { EXCHANGE_TTL_MS } from './exchange-service.ts';
import type { ObjectStore } from './object-store.ts';

const PREFIX = 'transfers/';
/** Objects listed (and swept) per call: one ListObjectsV2 page. */
const LIST_LIMIT = 1000;
/** Objects the server did not record itself whose metadata is fetched (one HEAD each) per list. */
const MAX_HEADS = 100;
/** How often the expiry sweep runs; an object outlives its 48 h by at most this. */
export const SWEEP_INTERVAL_MS = 15 * 60_000;

export interface ExchangeListEntry {
  key: string;
  size: number;
  last_modified: string;
  metadata: { source_client: string; dest_client: string | null; filename: string };
  transfer_id: string | null;
  /** stored / pending / delivered / failed; `unknown` for an object this server did not record. */
  state: string;
  dest_path: string | null;
  expires_at: string;
  delivered_at: string | null;
  error: string | null;
}

export interface ExchangeCatalogDeps {
  bucket: () => ObjectStore;
  exchanges: ExchangeStore;
  log: Logger;
  now?: () => number;
  timers?: Timers;
}

/**
 * What is in the exchange bucket: exchange_list (objects joined with their recorded state),
 * exchange_delete, and the sweep that deletes objects older than 48 h (a lifecycle rule is not
 * available on every S3-compatible server; the sweep is, and it also marks the rows expired).
 */
export class ExchangeCatalog {
  readonly #deps: ExchangeCatalogDeps;
  readonly #now: () => number;
  readonly #timers: Timers;
  #timer: unknown;
  #closed = false;

  constructor(deps: ExchangeCatalogDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#timers = deps.timers ?? realTimers;
  }

  /** Sweeps now and then every SWEEP_INTERVAL_MS. */
  start(): void {
    const tick = (): void => {
      if (this.#closed) return;
      this.sweep().catch((err: unknown) => this.#deps.log.warn({ err }, 'exchange sweep failed'));
      this.#timer = this.#timers.setTimeout(tick, SWEEP_INTERVAL_MS);
    };
    tick();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
  }

  async list(client: string | undefined): Promise<{ transfers: ExchangeListEntry[]; count: number }> {
    const bucket = this.#deps.bucket();
    const objects = await bucket.list(PREFIX, LIST_LIMIT);
    const transfers: ExchangeListEntry[] = [];
    let heads = 0;
    for (const o of objects) {
      const row = this.#deps.exchanges.byKey(o.key);
      let entry: ExchangeListEntry;
      if (row) {
        if (row.state === 'deleted' || row.state === 'expired') continue;
        entry = this.#entry(o.key, o.size, o.lastModified, row);
      } else {
        if (heads++ >= MAX_HEADS) continue;
        const info = await bucket.head(o.key);
        if (!info) continue;
        entry = {
          key: o.key,
          size: o.size,
          last_modified: o.lastModified.toISOString(),
          metadata: {
            source_client: info.metadata.source_client ?? o.key.split('/')[1] ?? '',
            dest_client: info.metadata.dest_client || null,
            filename: safeDecode(info.metadata.filename ?? o.key.split('/').pop() ?? ''),
          },
          transfer_id: info.metadata.transfer_id ?? o.key.split('/')[2] ?? null,
          state: 'unknown',
          dest_path: null,
          expires_at: new Date(o.lastModified.getTime() + EXCHANGE_TTL_MS).toISOString(),
          delivered_at: null,
          error: null,
        };
      }
      if (
        client !== undefined &&
        entry.metadata.source_client !== client &&
        entry.metadata.dest_client !== client
      ) {
        continue;
      }
      transfers.push(entry);
    }
    return { transfers, count: transfers.length };
  }

  async delete(transferId: string, sourceClient: string): Promise<{ key: string; deleted: true }> {
    const bucket = this.#deps.bucket();
    const row = this.#deps.exchanges.get(transferId);
    let key = row && row.source_client === sourceClient ? row.object_key : undefined;
    if (key === undefined) {
      const found = await bucket.list(`${PREFIX}${sourceClient}/${transferId}/`, 1);
      key = found[0]?.key;
    }
    if (key === undefined || (row && (row.state === 'deleted' || row.state === 'expired'))) {
      throw new ReachError('FILE_NOT_FOUND', `no exchange ${transferId} from ${sourceClient}`, {
        details: { transfer_id: transferId, source_client: sourceClient },
        recoveryHint: 'exchange_list shows transfer ids and source clients',
      });
    }
    await bucket.delete(key);
    if (row) this.#deps.exchanges.setState(transferId, 'deleted');
    return { key, deleted: true };
  }

  /** Deletes objects past 48 h and marks their rows expired; returns how many. */
  async sweep(): Promise<number> {
    const bucket = this.#deps.bucket();
    const cutoff = this.#now() - EXCHANGE_TTL_MS;
    let removed = 0;
    // Objects this server recorded expire by their row; others (another server's, a lost row) by
    // the bucket's LastModified.
    for (const o of await bucket.list(PREFIX, LIST_LIMIT)) {
      if (o.lastModified.getTime() > cutoff || this.#deps.exchanges.byKey(o.key)) continue;
      await bucket.delete(o.key);
      removed++;
    }
    for (const row of this.#deps.exchanges.expired(this.#now(), LIST_LIMIT)) {
      await bucket.delete(row.object_key);
      this.#deps.exchanges.setState(row.transfer_id, 'expired');
      removed++;
    }
    if (removed > 0) this.#deps.log.info({ removed }, 'expired exchange objects deleted');
    return removed;
  }

  #entry(key: string, size: number, lastModified: Date, row: ExchangeRow): ExchangeListEntry {
    return {
      key,
      size,
      last_modified: lastModified.toISOString(),
      metadata: { source_client: row.source_client, dest_client: row.dest_client, filename: row.filename },
      transfer_id: row.transfer_id,
      state: row.state,
      dest_path: row.dest_path,
      expires_at: new Date(row.expires_at).toISOString(),
      delivered_at: row.delivered_at === null ? null : new Date(row.delivered_at).toISOString(),
      error: row.error,
    };
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
