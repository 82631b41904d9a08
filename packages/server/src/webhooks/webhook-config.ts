import { ReachError } from '@reach/protocol';
import { z } from 'zod';

/** '' and null mean "not set" (an empty env var clears a value). */
const unset = (v: unknown): unknown => (v === '' || v === null ? undefined : v);

const HttpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2000, 'must be at most 2000 characters');

/**
 * Webhook settings. The server's config module maps the environment onto the first four
 * (`REACH_WEBHOOK_URL`, `REACH_WEBHOOK_SECRET`, `REACH_WEBHOOK_TIMEOUT` in seconds,
 * `REACH_WEBHOOK_MAX_RETRIES`, with `ETPHONEHOME_*` aliases); the rest tune the retry schedule.
 * Strings are coerced so raw environment values can be passed as they are.
 */
export const WebhookConfigSchema = z.object({
  /** Global receiver: every event goes here (and to the client's own `webhook_url`, if any). */
  url: z.preprocess(unset, HttpUrl.optional()),
  /** HMAC-SHA256 key; when set every request carries `X-Webhook-Timestamp` and `X-Webhook-Signature`. */
  secret: z.preprocess(unset, z.string().min(1).optional()),
  /** Seconds one request may take (connect + response). */
  timeoutS: z.coerce.number().positive().max(300).default(10),
  /** Quick retries (the reference's): 1 s, 2 s, 4 s, … apart. Always made, whatever the age. */
  maxRetries: z.coerce.number().int().min(0).max(20).default(3),
  /** Hard cap on attempts per event and target; past it the event is a dead letter. */
  maxAttempts: z.coerce.number().int().min(1).max(10_000).default(100),
  /** After the quick retries, an event older than this (seconds in its retry window) is dead. */
  maxAgeS: z.coerce
    .number()
    .positive()
    .max(30 * 86_400)
    .default(12 * 3600),
  /** First backoff delay; doubles per attempt up to `maxDelayMs`, with jitter. */
  baseDelayMs: z.coerce.number().int().min(1).max(3_600_000).default(1000),
  maxDelayMs: z.coerce.number().int().min(1).max(3_600_000).default(300_000),
  /** Dead letters are deleted this many days after they died (at start and whenever one dies). */
  deadLetterRetentionDays: z.coerce.number().positive().max(3650).default(30),
  /** Requests in flight at once across all targets (one per target at a time, to keep order). */
  concurrency: z.coerce.number().int().min(1).max(256).default(8),
});
export type WebhookConfig = z.output<typeof WebhookConfigSchema>;
export type WebhookConfigInput = z.input<typeof WebhookConfigSchema>;

/** Validates webhook settings; a bad value is an INVALID_ARGUMENT naming the field. */
export function parseWebhookConfig(input: WebhookConfigInput = {}): WebhookConfig {
  const r = WebhookConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue?.path.join('.') ?? 'webhook';
    throw new ReachError('INVALID_ARGUMENT', `webhook ${field}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** Checks a per-client `webhook_url` (as `configure_client` sets it); returns an error message or null. */
export function webhookUrlProblem(url: string): string | null {
  const r = HttpUrl.safeParse(url);
  return r.success ? null : (r.error.issues[0]?.message ?? 'invalid URL');
}
