import type { SshSessionInfo } from '@reach/protocol';
import type { ShellSession } from './shell-session.ts';

/** How `session` is described to callers (ssh_session_list, ssh_session_open). */
export function sessionInfo(session: ShellSession): SshSessionInfo {
  return {
    session_id: session.id,
    host: session.host,
    username: session.username,
    port: session.port,
    created_at: new Date(session.createdAt).toISOString(),
    last_activity: new Date(session.lastActivity).toISOString(),
  };
}
