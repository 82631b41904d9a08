import type { OutboxRow } from '../db/webhook-outbox-store.ts';
import { signWebhook } from './webhook-signature.ts';

/** Bytes of a response body read before the connection is released (the body is not used). */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface PostWebhookOptions {
  fetch: typeof globalThis.fetch;
  row: OutboxRow;
  /** 1-based attempt number, sent as `X-Webhook-Attempt`. */
  attempt: number;
  secret: string | undefined;
  /** Send time in Unix seconds: signed, so a retry an hour later is still inside the receiver's window. */
  nowS: number;
  timeoutMs: number;
  /** Aborted by the caller on close, or here on timeout. */
  controller: AbortController;
}

/** One delivery attempt: a signed POST of the stored body. Throws on network errors and timeouts. */
export async function postWebhook(
  o: PostWebhookOptions,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'reach-webhooks/1',
    'x-webhook-id': o.row.id,
    'x-webhook-event': o.row.event,
    'x-webhook-attempt': String(o.attempt),
  };
  if (o.secret !== undefined) {
    headers['x-webhook-timestamp'] = String(o.nowS);
    headers['x-webhook-signature'] = signWebhook(o.secret, o.row.body, o.nowS);
  }
  const timeout = setTimeout(
    () => o.controller.abort(new DOMException('webhook request timed out', 'TimeoutError')),
    o.timeoutMs,
  );
  try {
    const res = await o.fetch(o.row.url, {
      method: 'POST',
      headers,
      body: o.row.body,
      redirect: 'manual',
      signal: o.controller.signal,
    });
    const text = await readSome(res);
    if (res.status >= 200 && res.status < 300) return { ok: true };
    return { ok: false, error: `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}` };
  } finally {
    clearTimeout(timeout);
  }
}

/** Reads at most MAX_RESPONSE_BYTES of the body (so keep-alive connections are reused), as text. */
async function readSome(res: Response): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_RESPONSE_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8', 0, Math.min(size, 1000));
}

/** scheme://host:port only: a URL's path or query may carry a token. */
export function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause =
      err.cause instanceof Error ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
