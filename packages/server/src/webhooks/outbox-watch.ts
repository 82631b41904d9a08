import type { WebhookOutboxStore } from '../db/webhook-outbox-store.ts';

/**
 * Calls `onChange` when another process has committed to the outbox's database (a `reach-server
 * webhooks --requeue` run), checked every `everyMs` with SQLite's `PRAGMA data_version`, which
 * stays the same for this connection's own writes: a poll costs one pragma while nothing changes.
 * Errors (from the pragma or from `onChange`) go to `onError`. Returns the function that stops it.
 */
export function watchOtherWriters(
  store: Pick<WebhookOutboxStore, 'dataVersion'>,
  everyMs: number,
  onChange: () => void,
  onError: (err: unknown) => void,
): () => void {
  let seen = store.dataVersion();
  const timer = setInterval(() => {
    try {
      const version = store.dataVersion();
      if (version === seen) return;
      seen = version;
      onChange();
    } catch (err) {
      onError(err);
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
