import { currentSession } from './session.ts';

/** What the layout knows about the browser's session; 'unknown' until the first check answers. */
export const auth = $state<{ status: 'unknown' | 'signed-in' | 'signed-out'; authRequired: boolean }>({
  status: 'unknown',
  authRequired: true,
});

/** Asks the server (GET /api/session) and records the answer. */
export async function refreshSession(): Promise<void> {
  const s = await currentSession();
  auth.status = s ? 'signed-in' : 'signed-out';
  auth.authRequired = s ? s.auth_required : true;
}
