import { EventEmitter } from 'node:events';
import { AbsolutePath, type LinkMethod, type LinkParams, type LinkResult, ReachError } from '@reach/protocol';
import { z } from 'zod';
import type { ClientRecord, ClientStore } from '../db/client-store.ts';
import type { Logger } from '../log/logger.ts';
import type { ClientRegistry, OnlineClient } from '../registry/client-registry.ts';
import { ClientCursors } from './client-cursor.ts';
import { type ClientPage, type ClientPageRequest, cursorAfter, pageClients } from './client-paging.ts';
import { type ClientDetail, type ClientView, toClientDetail, toClientView } from './client-view.ts';
import { LastSeenBatch } from './last-seen-batch.ts';

export type { ClientPage, ClientPageRequest } from './client-paging.ts';
export type { ClientDetail, ClientView } from './client-view.ts';

export interface ClientEvent {
  client: ClientView;
}
export interface ClientServiceEvents {
  connected: [event: ClientEvent];
  disconnected: [event: ClientEvent & { reason: 'closed' | 'replaced' }];
  key_mismatch: [event: ClientEvent & { fingerprint: string; expected_fingerprint: string }];
  unhealthy: [event: ClientEvent & { failures: number }];
}

const UpdatePatch = z.strictObject({
  display_name: z.string().trim().min(1).max(100).nullable().optional(),
  purpose: z.string().max(200).nullable().optional(),
  tags: z.array(z.string().min(1).max(64)).max(64).nullable().optional(),
  allowed_paths: z.array(AbsolutePath).max(256).nullable().optional(),
});
export type UpdatePatch = z.input<typeof UpdatePatch>;

const ConfigurePatch = z.strictObject({
  webhook_url: z
    .union([z.literal(''), z.url({ protocol: /^https?$/ }).max(2000)])
    .nullable()
    .optional(),
  rate_limit_rpm: z.number().int().min(1).max(1000).nullable().optional(),
  rate_limit_concurrent: z.number().int().min(1).max(100).nullable().optional(),
});
export type ConfigurePatch = z.input<typeof ConfigurePatch>;

/** How many close matches and online clients a CLIENT_NOT_FOUND names at most. */
const NOT_FOUND_SAMPLE = 5;

/** Longest a disconnect's last_seen waits in memory before its batch is written, in ms. */
const LAST_SEEN_FLUSH_MS = 2000;

function invalid(error: z.ZodError): ReachError {
  const issue = error.issues[0];
  return new ReachError(
    'INVALID_ARGUMENT',
    issue ? `${issue.path.join('.') || 'input'}: ${issue.message}` : 'invalid input',
  );
}

/**
 * The operations on clients that MCP tools and the HTTP API call: listing, lookup by any name,
 * operator edits, key acceptance and agent calls. Emits typed events for webhooks.
 */
export class ClientService extends EventEmitter<ClientServiceEvents> {
  readonly #store: ClientStore;
  readonly #registry: ClientRegistry;
  readonly #log: Logger;
  readonly #cursors: ClientCursors;
  readonly #lastSeen: LastSeenBatch;

  constructor(deps: { store: ClientStore; registry: ClientRegistry; log: Logger; cursors?: ClientCursors }) {
    super();
    this.#store = deps.store;
    this.#registry = deps.registry;
    this.#log = deps.log;
    this.#cursors = deps.cursors ?? new ClientCursors();
    this.#lastSeen = new LastSeenBatch({
      store: deps.store,
      flushMs: LAST_SEEN_FLUSH_MS,
      onError: (err) => this.#log.error({ err }, 'last_seen write failed'),
    });
    // The store's online set follows the registry (set to whatever the registry says now, so a
    // `replaced` connection leaves its uuid online).
    const mirror = (uuid: string): void =>
      this.#store.setOnline(uuid, this.#registry.get(uuid) !== undefined);
    this.#registry.on('connected', (online) => {
      mirror(online.uuid);
      const record = this.#store.get(online.uuid);
      if (record) this.emit('connected', { client: this.#view(record, online) });
    });
    this.#registry.on('disconnected', (online, reason) => {
      mirror(online.uuid);
      if (!online.quarantined && reason === 'closed') {
        this.#lastSeen.record(online.uuid, new Date().toISOString());
      }
      const record = this.#store.get(online.uuid);
      if (record) this.emit('disconnected', { client: this.#view(record, undefined), reason });
    });
  }

  /**
   * Shutdown, before the registry closes the links: every trusted online client is last seen
   * now, written with the waiting disconnects in one transaction. Idempotent.
   */
  close(): void {
    const now = new Date().toISOString();
    for (const online of this.#registry.all()) {
      if (!online.quarantined) this.#lastSeen.record(online.uuid, now);
    }
    this.#lastSeen.close();
  }

  /** Called by registration when heartbeats failed too often; `disconnected` follows. */
  reportUnhealthy(uuid: string, failures: number): void {
    const record = this.#store.get(uuid);
    if (record) this.emit('unhealthy', { client: this.#view(record, this.#registry.get(uuid)), failures });
  }

  /** Called by registration when another key claims a known UUID. */
  reportKeyMismatch(record: ClientRecord, fingerprint: string): void {
    this.emit('key_mismatch', {
      client: this.#view(record, this.#registry.get(record.uuid)),
      fingerprint,
      expected_fingerprint: record.fingerprint,
    });
  }

  /** One page of the clients matching `req`, online first (see pageClients). */
  page(req: ClientPageRequest): ClientPage {
    return pageClients(
      {
        store: this.#store,
        registry: this.#registry,
        cursors: this.#cursors,
        view: (r, o) => this.#view(r, o),
      },
      req,
    );
  }

  /** The cursor of the page that starts right after `client`, a client of a page of `req`. */
  cursorAfter(req: ClientPageRequest, client: ClientView): string {
    return cursorAfter(this.#cursors, req, client);
  }

  /** How many clients are online and the first `limit` of them, without touching the rest. */
  onlineSample(limit: number): { count: number; sample: Array<{ uuid: string; display_name: string }> } {
    const sample: Array<{ uuid: string; display_name: string }> = [];
    for (const c of this.#registry.values()) {
      if (sample.length >= limit) break;
      sample.push({
        uuid: c.uuid,
        display_name: this.#store.get(c.uuid)?.display_name ?? c.registration.display_name,
      });
    }
    return { count: this.#registry.size, sample };
  }

  /** By uuid, client_id or display name (case-insensitive); unknown → CLIENT_NOT_FOUND. */
  resolve(ref: string): ClientDetail {
    const record = this.#store.findByRef(ref);
    if (!record) throw this.#notFound(`no client matches "${ref}"`, ref);
    return toClientDetail(this.#withLastSeen(record), this.#registry.get(record.uuid));
  }

  /** Like resolve, but the client must be online and not quarantined. */
  resolveOnline(ref: string): ClientDetail {
    const record = this.#store.findByRef(ref);
    if (!record) throw this.#notFound(`no client matches "${ref}"`, ref);
    const online = this.#onlineOrThrow(record);
    return toClientDetail(this.#withLastSeen(record), online);
  }

  async update(uuid: string, patch: UpdatePatch): Promise<ClientDetail> {
    const parsed = UpdatePatch.safeParse(patch);
    if (!parsed.success) throw invalid(parsed.error);
    const uuidOf = this.resolve(uuid).uuid;
    const record = this.#store.update(uuidOf, parsed.data);
    const online = this.#registry.get(uuidOf);
    if (parsed.data.allowed_paths !== undefined && online && !online.quarantined) {
      try {
        await online.agent.call('set_policy', { allowed_paths: record.allowed_paths }, { timeoutMs: 10_000 });
      } catch (err) {
        // The stored policy is applied at the next registration; force one rather than leave the
        // agent on a stale (possibly wider) policy.
        this.#log.warn({ clientId: uuidOf, err: (err as Error).message }, 'set_policy failed; closing link');
        online.agent.close('policy update failed');
        online.link.close();
      }
    }
    return toClientDetail(this.#withLastSeen(record), this.#registry.get(uuidOf));
  }

  /** Trusts the pending key of a key-mismatched client and lifts the quarantine. */
  acceptKey(uuid: string): ClientDetail {
    const uuidOf = this.resolve(uuid).uuid;
    let record = this.#store.acceptKey(uuidOf);
    const online = this.#registry.get(uuidOf);
    if (online) {
      const trusted = online.link.fingerprint === record.fingerprint;
      if (trusted && online.quarantined) record = this.#store.recordConnection(uuidOf, online.registration);
      this.#registry.setQuarantined(uuidOf, !trusted);
    }
    this.#log.info({ clientId: uuidOf, fingerprint: record.fingerprint }, 'client key accepted');
    return toClientDetail(this.#withLastSeen(record), online);
  }

  configure(uuid: string, patch: ConfigurePatch): ClientDetail {
    const parsed = ConfigurePatch.safeParse(patch);
    if (!parsed.success) throw invalid(parsed.error);
    const uuidOf = this.resolve(uuid).uuid;
    const { webhook_url, ...limits } = parsed.data;
    const record = this.#store.configure(uuidOf, {
      ...limits,
      ...(webhook_url === undefined ? {} : { webhook_url: webhook_url === '' ? null : webhook_url }),
    });
    return toClientDetail(this.#withLastSeen(record), this.#registry.get(uuidOf));
  }

  /** Calls an agent method on an online, trusted client. */
  call<M extends LinkMethod>(
    ref: string,
    method: M,
    params: LinkParams<M>,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<LinkResult<M>> {
    let online: OnlineClient;
    try {
      online = this.onlineClient(ref);
    } catch (err) {
      return Promise.reject(err);
    }
    return online.agent.call(method, params, opts);
  }

  /** The online connection for `ref` (fast path by uuid); throws like resolveOnline. */
  onlineClient(ref: string): OnlineClient {
    const direct = this.#registry.get(ref);
    if (direct) {
      if (direct.quarantined) throw this.#mismatch(direct.uuid);
      return direct;
    }
    const record = this.#store.findByRef(ref);
    if (!record) throw this.#notFound(`no client matches "${ref}"`, ref);
    return this.#onlineOrThrow(record);
  }

  counts(): { online: number; total: number } {
    return { online: this.#registry.size, total: this.#store.count() };
  }

  /** A record as listed, with a disconnect's last_seen still waiting in the batch. */
  #view(record: ClientRecord, online: OnlineClient | undefined): ClientView {
    return toClientView(this.#withLastSeen(record), online);
  }

  #withLastSeen(record: ClientRecord): ClientRecord {
    const pending = this.#lastSeen.pending(record.uuid);
    // ISO 8601 UTC strings order as times; a reconnect's own last_seen may be the newer one.
    return pending === undefined || (record.last_seen !== null && record.last_seen >= pending)
      ? record
      : { ...record, last_seen: pending };
  }

  #onlineOrThrow(record: ClientRecord): OnlineClient {
    const online = this.#registry.get(record.uuid);
    if (!online) {
      throw this.#notFound(`client ${record.display_name || record.uuid} is offline`);
    }
    if (online.quarantined) throw this.#mismatch(record.uuid);
    return online;
  }

  #mismatch(uuid: string): ReachError {
    return new ReachError(
      'SSH_KEY_MISMATCH',
      `client ${uuid} connected with a key that does not match its registered key`,
      {
        details: { uuid },
        recoveryHint: 'Verify the client, then call accept_key to trust its new key.',
      },
    );
  }

  #notFound(message: string, ref?: string): ReachError {
    // Bounded: close matches by name plus a few online clients, never the whole fleet (at 10,000
    // clients the old list of every online client made each typo a megabyte-sized error).
    const matches =
      ref === undefined
        ? []
        : this.#store
            .closeMatches(ref, NOT_FOUND_SAMPLE)
            .map((m) => ({ ...m, online: this.#registry.get(m.uuid) !== undefined }));
    const { count, sample: online } = this.onlineSample(NOT_FOUND_SAMPLE);
    return new ReachError('CLIENT_NOT_FOUND', message, {
      details: { matches, online, online_count: count },
      recoveryHint:
        matches.length > 0 || online.length > 0
          ? 'Use one of the clients listed in details, or find_client to search.'
          : undefined,
    });
  }
}
