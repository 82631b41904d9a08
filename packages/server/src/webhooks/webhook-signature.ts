import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signing. With a secret set, each request carries
 *   X-Webhook-Timestamp: <unix seconds at send time>
 *   X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 * The timestamp is inside the MAC so a captured request cannot be replayed later: receivers
 * reject timestamps outside their tolerance (default 5 minutes) and deduplicate by `X-Webhook-Id`.
 */
export const SIGNATURE_HEADER = 'x-webhook-signature';
export const TIMESTAMP_HEADER = 'x-webhook-timestamp';
export const ID_HEADER = 'x-webhook-id';
export const EVENT_HEADER = 'x-webhook-event';
/** Default accepted clock skew / replay window, seconds. */
export const DEFAULT_TOLERANCE_S = 300;

/** `sha256=<hex>` for a body sent at `timestampS` (unix seconds). */
export function signWebhook(secret: string, body: string | Uint8Array, timestampS: number): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestampS}.`);
  mac.update(body);
  return `sha256=${mac.digest('hex')}`;
}

export interface VerifyWebhookSignatureInput {
  secret: string;
  /** The raw request body, exactly as received. */
  body: string | Uint8Array;
  /** The `X-Webhook-Timestamp` header value. */
  timestamp: string | undefined;
  /** The `X-Webhook-Signature` header value. */
  signature: string | undefined;
  /** Accepted distance between the timestamp and now, seconds (default 300). */
  toleranceS?: number;
  /** Milliseconds clock (default Date.now). */
  now?: number | (() => number);
}

/**
 * True when the signature is a valid MAC of "<timestamp>.<body>" under `secret` and the timestamp
 * is within the tolerance. Compares in constant time.
 */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): boolean {
  const { timestamp, signature } = input;
  if (timestamp === undefined || signature === undefined || !/^\d{1,15}$/.test(timestamp)) return false;
  const ts = Number(timestamp);
  const nowMs = typeof input.now === 'function' ? input.now() : (input.now ?? Date.now());
  if (Math.abs(nowMs / 1000 - ts) > (input.toleranceS ?? DEFAULT_TOLERANCE_S)) return false;
  const expected = Buffer.from(signWebhook(input.secret, input.body, ts));
  const given = Buffer.from(signature.trim());
  // Lengths are public (always sha256= + 64 hex); only equal-length buffers are compared.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
