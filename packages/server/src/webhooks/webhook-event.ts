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
