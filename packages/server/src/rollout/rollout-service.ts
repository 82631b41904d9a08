import { randomUUID } from 'node:crypto';
import { ReachError, toReachError } from '@reach/protocol';
import type { ClientService } from '../clients/client-service.ts';
import type { Logger } from '../log/logger.ts';
import type { ClientRegistry } from '../registry/client-registry.ts';
import type { ReleaseChannel, ReleaseChannels } from '../releases/release-channels.ts';
import { pinOf, type ReleasePins } from '../releases/release-pins.ts';
import type { ReleaseStore } from '../releases/release-store.ts';
import type { WebhookEventInput } from '../webhooks/webhook-dispatcher.ts';
import { awaitReturn } from './await-return.ts';
import { type ClientUpdateState, type RolloutClient, RolloutView } from './rollout-types.ts';

export interface RolloutTarget {
  client_ids?: string[] | undefined;
  tags?: string[] | undefined;
  all?: boolean | undefined;
}

export interface RolloutRequest {
  version?: string | undefined;
  channel?: ReleaseChannel | undefined;
  target: RolloutTarget;
  batch_size: number;
  max_failures: number;
  force?: boolean | undefined;
}

export interface RolloutDeps {
  releases: Pick<ReleaseStore, 'manifestFile'>;
  channels: () => Promise<ReleaseChannels>;
  clients: Pick<ClientService, 'resolve' | 'call'>;
  /** Every known client (main.ts pages through ClientService.page). */
  listClients: () => Array<{ uuid: string; display_name: string; tags: string[] }>;
  registry: Pick<ClientRegistry, 'get' | 'on' | 'off'>;
  webhooks: { enqueue(input: WebhookEventInput): unknown };
  /**
   * --release-url: clients fetch the executable over HTTP from `<url>/releases/<version>/`; unset,
   * each client fetches it over its own SSH link (source `link`).
   */
  /** Where rollouts are kept across restarts (db/rollout-store.ts); absent: memory only. */
  store?: { save(view: RolloutView): void; load(): unknown[] };
  /** pins.json (release-pins.ts): clients held at a version are skipped by rollouts of another. */
  pins?: () => Promise<ReleasePins>;
  releaseUrl?: string | undefined;
  log: Logger;
  /**
   * How long an applied client has to register again, in ms: the client's own health window
   * (60 s by default) plus its restart and reconnect backoff; past it the client counts as failed.
   */
  returnTimeoutMs?: number;
  /** Deadline of update_apply (download and checks happen inside it), in ms. */
  applyTimeoutMs?: number;
}

interface Rollout extends Omit<RolloutView, 'clients'> {
  clients: RolloutClient[];
}

/** Rollouts kept for update_status (oldest dropped first); state lives in memory only. */
const KEEP_ROLLOUTS = 50;

/**
 * Rolls a signed release out in batches (#16): each batch's clients get update_apply at once, and
 * the next batch starts only when every client of this one has registered again on the new
 * version (healthy), reported a rollback, or failed; at `max_failures` failures the rollout halts.
 * The server only relays the manifest and its signature: each client checks them against its own
 * update_public_key, so the server cannot forge an update. Every change is written through to
 * the store; a rollout a restart cut short is kept as halted (its clients' own update.json keeps
 * their part), and is not resumed: the operator re-runs update_clients for the clients left.
 */
export class RolloutService {
  readonly #deps: RolloutDeps;
  readonly #rollouts = new Map<string, Rollout>();
  readonly #stopped = new AbortController();

  constructor(deps: RolloutDeps) {
    this.#deps = deps;
  }

  /** Reads the stored rollouts (call once, before the first start or status). */
  restore(): void {
    for (const raw of this.#deps.store?.load() ?? []) {
      const parsed = RolloutView.safeParse(raw);
      if (!parsed.success) continue;
      const r: Rollout = parsed.data;
      if (r.state === 'running') {
        r.state = 'halted';
        r.halted_reason = 'the server restarted during the rollout; clients not yet told stay pending';
        r.ended_at = new Date().toISOString();
        this.#save(r);
      }
      this.#rollouts.set(r.rollout_id, r);
    }
  }

  async start(req: RolloutRequest): Promise<RolloutView> {
    const version = req.version ?? (await this.#channelVersion(req.channel ?? 'stable'));
    const release = await this.#deps.releases.manifestFile(version);
    if (release.signature === undefined) {
      throw new ReachError(
        'INVALID_ARGUMENT',
        `release ${release.manifest.version} is not signed: clients apply signed releases only`,
        {
          recoveryHint: 'publish a release built with npm run release -- --sign-key',
        },
      );
    }
    const base = this.#deps.releaseUrl;
    const now = new Date().toISOString();
    const pins = (await this.#deps.pins?.()) ?? { clients: {}, tags: {} };
    const rollout: Rollout = {
      rollout_id: `rollout-${randomUUID().slice(0, 8)}`,
      version: release.manifest.version,
      channel: req.version === undefined ? (req.channel ?? 'stable') : null,
      state: 'running',
      batch_size: req.batch_size,
      max_failures: req.max_failures,
      failures: 0,
      batches_started: 0,
      created_at: now,
      ended_at: null,
      halted_reason: null,
      clients: this.#targets(req.target, release.manifest.version, now, pins),
    };
    this.#rollouts.set(rollout.rollout_id, rollout);
    this.#save(rollout);
    for (const id of [...this.#rollouts.keys()].slice(0, Math.max(0, this.#rollouts.size - KEEP_ROLLOUTS))) {
      this.#rollouts.delete(id);
    }
    const apply = {
      version: rollout.version,
      manifest: release.bytes.toString('base64'),
      signature: release.signature,
      // Over each client's own link unless the operator serves releases elsewhere (--release-url).
      ...(base === undefined
        ? { source: 'link' as const }
        : { source: 'url' as const, url: `${base.replace(/\/+$/, '')}/releases/${rollout.version}/` }),
      force: req.force ?? false,
    };
    void this.#run(rollout, apply).catch((err: unknown) => {
      this.#deps.log.error({ err, rollout: rollout.rollout_id }, 'rollout failed');
      this.#end(rollout, 'halted', toReachError(err).message);
    });
    return view(rollout);
  }

  status(id?: string): RolloutView[] {
    if (id === undefined) return [...this.#rollouts.values()].reverse().map(view);
    const r = this.#rollouts.get(id);
    if (!r) throw new ReachError('INVALID_ARGUMENT', `no rollout ${id} (the newest 50 rollouts are kept)`);
    return [view(r)];
  }

  close(): void {
    this.#stopped.abort();
  }

  async #channelVersion(channel: ReleaseChannel): Promise<string> {
    const v = (await this.#deps.channels())[channel];
    if (v === undefined) {
      throw new ReachError('INVALID_ARGUMENT', `channel ${channel} points at no release`, {
        recoveryHint: `reach-server release publish DIR --channel ${channel}`,
      });
    }
    return v;
  }

  #targets(t: RolloutTarget, version: string, now: string, pins: ReleasePins): RolloutClient[] {
    const wanted = new Set<string>();
    for (const ref of t.client_ids ?? []) wanted.add(this.#deps.clients.resolve(ref).uuid);
    const all = this.#deps.listClients();
    for (const c of all) {
      if (t.all || (t.tags ?? []).some((tag) => c.tags.includes(tag))) wanted.add(c.uuid);
    }
    if (wanted.size === 0) throw new ReachError('INVALID_ARGUMENT', 'the target names no client');
    const out: RolloutClient[] = [];
    for (const c of all) {
      if (!wanted.has(c.uuid)) continue;
      const update = this.#deps.registry.get(c.uuid)?.registration.update;
      const entry: RolloutClient = {
        uuid: c.uuid,
        display_name: c.display_name,
        batch: -1,
        from: update?.version ?? null,
        state: 'pending',
        updated_at: now,
      };
      // Skipped at once: a client that opted out, one held at another version, one already on it.
      const pinned = pinOf(pins, c);
      if (update?.auto_update === false)
        Object.assign(entry, { state: 'skipped', reason: 'auto_update: false' });
      else if (pinned !== undefined && pinned !== version)
        Object.assign(entry, { state: 'skipped', reason: `pinned to ${pinned}` });
      else if (update?.version === version)
        Object.assign(entry, { state: 'skipped', reason: `already on ${version}` });
      out.push(entry);
    }
    return out;
  }

  async #run(r: Rollout, apply: Record<string, unknown> & { version: string }): Promise<void> {
    const pending = r.clients.filter((c) => c.state === 'pending');
    for (let i = 0; i < pending.length; i += r.batch_size) {
      if (this.#stopped.signal.aborted) return this.#end(r, 'halted', 'server shutting down');
      const batch = pending.slice(i, i + r.batch_size);
      r.batches_started += 1;
      for (const c of batch) c.batch = r.batches_started;
      await Promise.all(batch.map((c) => this.#updateOne(r, c, apply)));
      r.failures = r.clients.filter((c) => c.state === 'failed' || c.state === 'rolled_back').length;
      if (r.failures >= r.max_failures) {
        // The clients not reached stay pending: they were never told anything.
        return this.#end(r, 'halted', `${r.failures} failure(s) reached max_failures ${r.max_failures}`);
      }
    }
    this.#end(r, 'completed', null);
  }

  async #updateOne(r: Rollout, c: RolloutClient, apply: Record<string, unknown>): Promise<void> {
    const d = this.#deps;
    const online = d.registry.get(c.uuid);
    if (!online || online.quarantined)
      return this.#set(r, c, 'skipped', { reason: 'offline when its batch started' });
    if (online.registration.update?.auto_update === false)
      return this.#set(r, c, 'skipped', { reason: 'auto_update: false' });
    const back = awaitReturn(d.registry, {
      uuid: c.uuid,
      version: r.version,
      previous: online,
      timeoutMs: d.returnTimeoutMs ?? 180_000,
      signal: this.#stopped.signal,
    });
    this.#set(r, c, 'downloading');
    try {
      await d.clients.call(c.uuid, 'update_apply', apply as never, {
        signal: this.#stopped.signal,
        timeoutMs: d.applyTimeoutMs ?? 600_000,
      });
    } catch (err) {
      back.cancel();
      const e = toReachError(err);
      return this.#set(r, c, 'failed', { reason: `${e.code}: ${e.message}` });
    }
    this.#set(r, c, 'applied');
    const outcome = await back.result;
    if (outcome.kind === 'healthy') return this.#set(r, c, 'healthy');
    if (outcome.kind === 'rolled_back') {
      return this.#set(r, c, 'rolled_back', {
        reason: outcome.last.reason ?? 'rolled back',
        ...(outcome.last.log_tail ? { log_tail: outcome.last.log_tail } : {}),
      });
    }
    this.#set(r, c, 'failed', { reason: outcome.reason });
  }

  #set(
    r: Rollout,
    c: RolloutClient,
    state: ClientUpdateState,
    extra: { reason?: string; log_tail?: string } = {},
  ): void {
    c.state = state;
    c.updated_at = new Date().toISOString();
    if (extra.reason !== undefined) c.reason = extra.reason;
    if (extra.log_tail !== undefined) c.log_tail = extra.log_tail;
    this.#deps.log.info(
      { rollout: r.rollout_id, client: c.uuid, state, reason: extra.reason },
      'rollout: client state',
    );
    this.#save(r);
    const who = { uuid: c.uuid, display_name: c.display_name };
    if (state === 'healthy') {
      this.#deps.webhooks.enqueue({
        event: 'client.updated',
        client: who,
        data: { rollout_id: r.rollout_id, trigger: 'server', from: c.from, to: r.version },
      });
    } else if (state === 'failed' || state === 'rolled_back') {
      this.#deps.webhooks.enqueue({
        event: 'client.update_failed',
        client: who,
        data: {
          rollout_id: r.rollout_id,
          trigger: 'server',
          from: c.from,
          to: r.version,
          state,
          reason: c.reason ?? null,
          log_tail: c.log_tail ?? null,
        },
      });
    }
  }

  #end(r: Rollout, state: 'completed' | 'halted', reason: string | null): void {
    if (r.state !== 'running') return;
    r.state = state;
    r.halted_reason = reason;
    r.ended_at = new Date().toISOString();
    this.#deps.log.info({ rollout: r.rollout_id, state, reason }, 'rollout ended');
    this.#save(r);
  }

  /** Writes `r` through to the store; a failed write is logged, the rollout goes on. */
  #save(r: Rollout): void {
    try {
      this.#deps.store?.save(view(r));
    } catch (err) {
      this.#deps.log.error({ err, rollout: r.rollout_id }, 'rollout state not saved');
    }
  }
}

function view(r: Rollout): RolloutView {
  return { ...r, clients: r.clients.map((c) => ({ ...c })) };
}
