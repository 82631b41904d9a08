/** Events the server emits (the reference's list, TOOLS.md). */
export const WEBHOOK_EVENTS = [
  'client.connected',
  'client.disconnected',
  'client.unhealthy',
  'client.key_mismatch',
  'command_executed',
  'file_accessed',
  'file_transferred',
  'r2_transfer',
  /** A rollout's client came back registered on the new version (#16). */
  'client.updated',
  /** A rollout's client refused the update, failed it, or was rolled back (#16). */
  'client.update_failed',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** The JSON body of every webhook request. */
export interface WebhookPayload {
  /** Idempotency id (UUID), also sent as `X-Webhook-Id`; the same on every retry and target. */
  id: string;
  event: WebhookEventName;
  /** ISO 8601 (UTC) time the event happened. */
  timestamp: string;
  client: { uuid: string; display_name: string };
  data: Record<string, unknown>;
}

/** Largest webhook body stored and sent. */
const MAX_EVENT_BYTES = 256 * 1024;

/**
 * `payload` as the JSON that is stored in the outbox and sent on every attempt. Past 256 KiB (a huge
 * command output, say) `data` is replaced by `{ truncated: true, original_bytes }`, so one event
 * cannot bloat the outbox or a receiver.
 */
export function encodeWebhookBody(payload: WebhookPayload): string {
  const body = JSON.stringify(payload);
  if (Buffer.byteLength(body) <= MAX_EVENT_BYTES) return body;
  return JSON.stringify({ ...payload, data: { truncated: true, original_bytes: Buffer.byteLength(body) } });
}
