import type { LastUpdate } from '@reach/protocol';
import type { ClientRegistry, OnlineClient } from '../registry/client-registry.ts';

export type ReturnOutcome =
  | { kind: 'healthy' }
  | { kind: 'rolled_back'; last: LastUpdate }
  | { kind: 'failed'; reason: string };

/**
 * Waits for a client's next registration after `previous` (the connection update_apply went to):
 * on `version` is healthy; one whose hello reports a rollback from `version` is rolled_back;
 * nothing within `timeoutMs`, or `signal` aborted, is failed. Set up before update_apply is sent,
 * so a quick restart cannot be missed.
 */
export function awaitReturn(
  registry: Pick<ClientRegistry, 'on' | 'off'>,
  o: { uuid: string; version: string; previous: OnlineClient; timeoutMs: number; signal: AbortSignal },
): { result: Promise<ReturnOutcome>; cancel: () => void } {
  let finish!: (outcome: ReturnOutcome) => void;
  const result = new Promise<ReturnOutcome>((resolve) => {
    finish = resolve;
  });
  const onConnected = (client: OnlineClient) => {
    if (client.uuid !== o.uuid || client === o.previous) return;
    const u = client.registration.update;
    if (u?.version === o.version) finish({ kind: 'healthy' });
    else if (u?.last_update?.to === o.version && u.last_update.state === 'rolled_back') {
      finish({ kind: 'rolled_back', last: u.last_update });
    }
  };
  const timer = setTimeout(
    () =>
      finish({
        kind: 'failed',
        reason: `not registered on ${o.version} within ${Math.round(o.timeoutMs / 1000)} s`,
      }),
    o.timeoutMs,
  );
  const onStop = () => finish({ kind: 'failed', reason: 'server shutting down' });
  o.signal.addEventListener('abort', onStop, { once: true });
  registry.on('connected', onConnected);
  void result.finally(() => {
    clearTimeout(timer);
    registry.off('connected', onConnected);
    o.signal.removeEventListener('abort', onStop);
  });
  return { result, cancel: () => finish({ kind: 'failed', reason: 'cancelled' }) };
}
