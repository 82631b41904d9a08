import type { Logger } from '../log/logger.ts';
import {
  type ConnectOnwardOptions,
  connectOnward,
  type OnwardHop,
  type ShellOptions,
} from '../tunnel/onward-connect.ts';
import type { KnownHosts } from './known-hosts.ts';
import type { PersistedSession } from './session-store.ts';
import { ShellSession } from './shell-session.ts';

const DEFAULT_SHELL: ShellOptions = { term: 'xterm-256color', cols: 250, rows: 50 };

export interface OpenShellSessionOptions {
  /** Each hop's host key is checked against (and recorded in) this file. */
  knownHosts: KnownHosts;
  acceptNewHostKey: boolean;
  /** Gets one line per host key recorded or replaced, for the reply to the caller. */
  keyNotes: string[];
  /** The session's logger. */
  log: Logger;
  /** Wall clock in ms, for the session's last_activity. */
  clock: () => number;
  /** Unread output kept by the session, in characters. */
  maxBufferChars: number;
  /** Handshake + authentication deadline per hop, in ms (absent: the onward default). */
  readyTimeoutMs?: number | undefined;
  shell?: Partial<ShellOptions> | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Connects through `hops` (jump hosts first, checking every host key), opens a PTY shell on the
 * last one and wraps it as the session `meta` describes. The caller owns the returned session; on
 * failure nothing is left open.
 */
export async function openShellSession(
  meta: PersistedSession,
  hops: OnwardHop[],
  options: OpenShellSessionOptions,
): Promise<ShellSession> {
  const { knownHosts, acceptNewHostKey, keyNotes, log } = options;
  const connectOptions: ConnectOnwardOptions = {
    checkHostKey: async (hop, key) => {
      const outcome = await knownHosts.check(hop.host, hop.port, key, acceptNewHostKey);
      if (outcome !== 'known') {
        const verb = outcome === 'added' ? 'recorded new' : 'replaced changed';
        keyNotes.push(`${verb} host key of ${hop.host}:${hop.port} (${key.fingerprint})`);
        log.info(
          { host: hop.host, port: hop.port, fingerprint: key.fingerprint, outcome },
          'ssh host key recorded',
        );
      }
    },
  };
  if (options.readyTimeoutMs !== undefined) connectOptions.readyTimeoutMs = options.readyTimeoutMs;
  if (options.signal !== undefined) connectOptions.signal = options.signal;
  const connection = await connectOnward(hops, connectOptions);
  try {
    const shell = await connection.openShell({ ...DEFAULT_SHELL, ...options.shell });
    return new ShellSession({
      info: {
        id: meta.session_id,
        host: meta.host,
        port: meta.port,
        username: meta.username,
        createdAt: Date.parse(meta.created_at),
      },
      shell,
      connection,
      clock: options.clock,
      maxBufferChars: options.maxBufferChars,
    });
  } catch (err) {
    connection.close();
    throw err;
  }
}
