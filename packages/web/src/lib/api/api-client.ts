import { ApiError, errorFromBody } from './api-error.ts';

/** Query values; undefined and '' are left out. */
export type Query = Record<string, string | number | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** Called when a call answers 401: the session ended (expired, revoked, server restarted). */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

/**
 * One JSON call to the server's /api. Same-origin, so the browser sends the session cookie and
 * the Origin header the server checks on mutating requests; the API key itself is never stored.
 */
export async function api<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  opts: { query?: Query; body?: unknown; signal?: AbortSignal; quiet401?: boolean } = {},
): Promise<T> {
  const init: RequestInit = { method, headers: { accept: 'application/json' } };
  if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  const text = await request(withQuery(path, opts.query), init, opts);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A GET whose body is text (a recording's asciicast): the same session, errors and 401 handling. */
export function apiText(path: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
  return request(path, { method: 'GET' }, opts);
}

async function request(
  url: string,
  init: RequestInit,
  opts: { signal?: AbortSignal; quiet401?: boolean },
): Promise<string> {
  const res = await fetch(url, {
    ...init,
    credentials: 'same-origin',
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const text = await res.text();
  if (!res.ok) {
    const err = errorFromBody(res.status, text);
    if (res.status === 401 && !opts.quiet401) onUnauthorized();
    throw err;
  }
  return text;
}

export { ApiError };
