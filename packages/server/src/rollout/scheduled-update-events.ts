import type { ClientStore } from '../db/client-store.ts';
import type { Logger } from '../log/logger.ts';
import type { ClientRegistry, OnlineClient } from '../registry/client-registry.ts';
import type { WebhookEventInput } from '../webhooks/webhook-dispatcher.ts';

export interface ScheduledUpdateEventsDeps {
  registry: Pick<ClientRegistry, 'on' | 'off'>;
  store: Pick<ClientStore, 'get' | 'claimUpdateReport'>;
  webhooks: { enqueue(input: WebhookEventInput): unknown };
  log: Logger;
}

/**
 * Webhooks for the updates a client starts on its own schedule (update_check_interval_h), which no
 * rollout watches: when a hello reports `last_update` with `trigger: schedule`, the new version
 * registering (`version` = `to`) is client.updated and the restored old one reporting
 * `rolled_back` is client.update_failed, with the same data a rollout's events carry and
 * `rollout_id: null`. Each update (its `started_at`) is reported once per client, kept in SQLite,
 * so neither a reconnect nor a server restart repeats it. Returns a function that detaches.
 */
export function reportScheduledUpdates(deps: ScheduledUpdateEventsDeps): () => void {
  const onConnected = (online: OnlineClient): void => {
    if (online.quarantined) return;
    const update = online.registration.update;
    const last = update?.last_update;
    if (update === undefined || last === undefined || last.trigger !== 'schedule') return;
    const outcome =
      last.state === 'rolled_back' ? 'rolled_back' : update.version === last.to ? 'healthy' : undefined;
    // `applied` on another version: the old process, between the swap and its restart.
    if (outcome === undefined) return;
    if (!deps.store.claimUpdateReport(online.uuid, last.started_at)) return;
    const client = {
      uuid: online.uuid,
      display_name: deps.store.get(online.uuid)?.display_name ?? online.registration.display_name,
    };
    const base = { rollout_id: null, trigger: 'schedule', from: last.from, to: last.to };
    deps.log.info(
      { client: online.uuid, from: last.from, to: last.to, outcome },
      'scheduled update reported',
    );
    if (outcome === 'healthy') {
      deps.webhooks.enqueue({ event: 'client.updated', client, data: base });
      return;
    }
    deps.webhooks.enqueue({
      event: 'client.update_failed',
      client,
      data: {
        ...base,
        state: 'rolled_back',
        reason: last.reason ?? null,
        log_tail: last.log_tail ?? null,
      },
    });
  };
  deps.registry.on('connected', onConnected);
  return () => deps.registry.off('connected', onConnected);
}
