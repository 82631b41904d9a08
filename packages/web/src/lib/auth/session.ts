import { api } from '../api/api-client.ts';
import { ApiError } from '../api/api-error.ts';
import type { SessionInfo } from '../api/types.ts';

/**
 * The browser's session: null when there is none (the server answered 401). With no API key
 * configured the server says `auth_required: false` and the UI never shows the sign-in page.
 */
export async function currentSession(): Promise<SessionInfo | null> {
  try {
    return await api<SessionInfo>('GET', '/api/session', { quiet401: true });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

/** Exchanges the key for the HttpOnly session cookie; the key is kept nowhere in the page. */
export async function signIn(apiKey: string): Promise<void> {
  await api<void>('POST', '/api/session', { body: { api_key: apiKey }, quiet401: true });
}

export async function signOut(): Promise<void> {
  await api<void>('DELETE', '/api/session', { quiet401: true });
}
