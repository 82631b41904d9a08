import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ReachError,
  type SshJumpHost,
  type SshSessionInfo,
  type SshSessionOpenResult,
  type SshSessionRestoreResult,
} from '@reach/protocol';
import type { Logger } from '../log/logger.ts';
import type { OnwardHop, ShellOptions } from '../tunnel/onward-connect.ts';
import { type HopRequest, persistedHop, type ReadAllowedFile, resolveHop } from './hop-credentials.ts';
import { KnownHosts, SSH_KNOWN_HOSTS_FILE } from './known-hosts.ts';
import { openShellSession } from './open-shell-session.ts';
import { RestorableSessions } from './restorable-sessions.ts';
import { sessionInfo } from './session-info.ts';
import { type PersistedHop, type PersistedSession, SSH_SESSIONS_FILE } from './session-store.ts';
import type { ShellSession } from './shell-session.ts';

export interface SshSessionManagerDeps {
  /** The client config dir: holds ssh_known_hosts and ssh_sessions.json. */
  configDir: string;
  log: Logger;
  /** Wall clock in ms (injected in tests); drives created_at, last_activity and idle expiry. */
  clock?: () => number;
  /**
   * Reads key files through the client's path policy (PATH_DENIED outside allowed_paths); absent,
   * they are read by name with no policy.
   */
  readAllowedFile?: ReadAllowedFile | undefined;
  /** Most sessions open at once (default 10). */
  maxSessions?: number;
  /** A session unused this long is closed, in ms (default 30 min). */
  idleTimeoutMs?: number;
  /** Unread output kept per session, in characters (default 1 MiB). */
  maxBufferChars?: number;
  /** How often idle sessions are looked for on a real timer, in ms (default 60 s; 0 disables). */
  sweepIntervalMs?: number;
  /** Handshake + authentication deadline per hop, in ms (default 20 s). */
  readyTimeoutMs?: number;
  shell?: Partial<ShellOptions>;
}

export interface OpenRequest extends HopRequest {
  jump_hosts?: SshJumpHost[] | undefined;
  accept_new_host_key?: boolean | undefined;
}

const DEFAULTS = {
  maxSessions: 10,
  idleTimeoutMs: 30 * 60 * 1000,
  maxBufferChars: 1024 * 1024,
  sweepIntervalMs: 60_000,
};

interface LiveSession {
  session: ShellSession;
  meta: PersistedSession;
}

/**
 * Owns every onward SSH session of this client: opening (with jump hosts and known-host checks),
 * the session cap, idle expiry, and the metadata file that lets sessions be restored after a
 * restart. `start()` loads that file; `close()` ends every session but keeps the file, so a client
 * restart can restore them.
 */
export class SshSessionManager {
  readonly #deps: SshSessionManagerDeps;
  readonly #clock: () => number;
  readonly #log: Logger;
  readonly #knownHosts: KnownHosts;
  readonly #restorable: RestorableSessions;
  readonly #live = new Map<string, LiveSession>();
  #opening = 0;
  #started: Promise<void> | undefined;
  #closing = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: SshSessionManagerDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? Date.now;
    this.#log = deps.log;
    this.#knownHosts = new KnownHosts(join(deps.configDir, SSH_KNOWN_HOSTS_FILE));
    this.#restorable = new RestorableSessions(join(deps.configDir, SSH_SESSIONS_FILE), this.#log);
  }

  get #maxSessions(): number {
    return this.#deps.maxSessions ?? DEFAULTS.maxSessions;
  }

  /** Loads persisted sessions and starts the idle timer. Idempotent. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      await mkdir(this.#deps.configDir, { recursive: true, mode: 0o700 });
      await this.#restorable.load();
      const every = this.#deps.sweepIntervalMs ?? DEFAULTS.sweepIntervalMs;
      if (every > 0 && !this.#closing) {
        this.#timer = setInterval(() => this.sweepIdle(), every);
        this.#timer.unref();
      }
    })();
    return this.#started;
  }

  /** Closes sessions idle past the limit (by the injected clock); a running command is not idle. Returns their ids. */
  sweepIdle(): string[] {
    const limit = this.#deps.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
    const now = this.#clock();
    const expired: string[] = [];
    for (const [id, live] of this.#live) {
      if (!live.session.busy && now - live.session.lastActivity >= limit) expired.push(id);
    }
    for (const id of expired) {
      this.#log.info({ sessionId: id }, 'ssh session idle: closing');
      this.#forget(id);
    }
    if (expired.length > 0) void this.#persist();
    return expired;
  }

  /** The open session `id`, or SSH_SESSION_NOT_FOUND. Counts as activity. */
  get(id: string): ShellSession {
    this.sweepIdle();
    const live = this.#live.get(id);
    if (live === undefined || live.session.closed) {
      throw new ReachError('SSH_SESSION_NOT_FOUND', `no open ssh session ${id}`, {
        details: { session_id: id, open_sessions: [...this.#live.keys()] },
        recoveryHint: 'list sessions with ssh_session_list, or open one with ssh_session_open',
      });
    }
    return live.session;
  }

  list(): SshSessionInfo[] {
    this.sweepIdle();
    return [...this.#live.values()].map(({ session }) => sessionInfo(session));
  }

  async open(request: OpenRequest, signal?: AbortSignal): Promise<SshSessionOpenResult> {
    this.sweepIdle();
    this.#checkCapacity();
    this.#opening++;
    try {
      const meta: PersistedSession = {
        session_id: randomUUID(),
        created_at: new Date(this.#clock()).toISOString(),
        ...persistedHop(request),
        jump_hosts: (request.jump_hosts ?? []).map(persistedHop),
      };
      const hops = await Promise.all(
        [...(request.jump_hosts ?? []), request].map((h) => resolveHop(h, this.#deps.readAllowedFile)),
      );
      const keyNotes: string[] = [];
      const session = await this.#connect(meta, hops, request.accept_new_host_key ?? false, signal, keyNotes);
      await this.#persist();
      const jumps = meta.jump_hosts.length;
      const via = jumps > 0 ? ` through ${jumps} jump host(s)` : '';
      const keys = keyNotes.length > 0 ? `; ${keyNotes.join('; ')}` : '';
      return {
        ...sessionInfo(session),
        message: `connected to ${request.username}@${request.host}:${request.port}${via}${keys}`,
      };
    } finally {
      this.#opening--;
    }
  }

  /** Closes session `id`; a session left from an earlier run is forgotten. */
  async close(id: string): Promise<{ closed: boolean; message: string }> {
    this.sweepIdle();
    if (this.#live.has(id)) {
      this.#forget(id);
      await this.#persist();
      return { closed: true, message: `session ${id} closed` };
    }
    if (this.#restorable.remove(id)) {
      await this.#persist();
      return { closed: true, message: `session ${id} (not restored) forgotten` };
    }
    throw new ReachError('SSH_SESSION_NOT_FOUND', `no ssh session ${id}`, {
      details: { session_id: id },
      recoveryHint: 'list sessions with ssh_session_list',
    });
  }

  /**
   * Reopens the sessions of an earlier run that authenticated with keys only. Password sessions come
   * back as manual_required (their passwords were never stored) and are forgotten; failures stay
   * for a later attempt.
   */
  async restore(): Promise<SshSessionRestoreResult> {
    const result = await this.#restorable.restore((old, hops) => this.#reopen(old, hops));
    await this.#persist();
    return result;
  }

  /** Ends every session (client shutdown) but keeps the metadata file for a later restore. Idempotent. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#started?.catch(() => undefined);
    for (const { session } of this.#live.values()) session.close();
    this.#live.clear();
  }

  #checkCapacity(): void {
    if (this.#closing) throw new ReachError('CONNECTION_ERROR', 'the client is shutting down');
    const inUse = this.#live.size + this.#opening;
    if (inUse >= this.#maxSessions) {
      throw new ReachError('RATE_LIMIT_EXCEEDED', `at most ${this.#maxSessions} ssh sessions may be open`, {
        details: { max_sessions: this.#maxSessions, open_sessions: this.#live.size },
        recoveryHint: 'close a session with ssh_session_close first',
      });
    }
  }

  /** Reconnects session `old` of an earlier run under a new id; a new host key is refused. */
  async #reopen(old: PersistedSession, hops: PersistedHop[]): Promise<ShellSession> {
    this.#checkCapacity();
    this.#opening++;
    try {
      const meta: PersistedSession = {
        ...old,
        session_id: randomUUID(),
        created_at: new Date(this.#clock()).toISOString(),
      };
      const resolved = await Promise.all(hops.map((h) => resolveHop(h, this.#deps.readAllowedFile)));
      return await this.#connect(meta, resolved, false);
    } finally {
      this.#opening--;
    }
  }

  async #connect(
    meta: PersistedSession,
    hops: OnwardHop[],
    acceptNewHostKey: boolean,
    signal?: AbortSignal,
    keyNotes: string[] = [],
  ): Promise<ShellSession> {
    const log = this.#log.child({ sessionId: meta.session_id });
    const started = Date.now();
    const session = await openShellSession(meta, hops, {
      knownHosts: this.#knownHosts,
      acceptNewHostKey,
      keyNotes,
      log,
      clock: this.#clock,
      maxBufferChars: this.#deps.maxBufferChars ?? DEFAULTS.maxBufferChars,
      readyTimeoutMs: this.#deps.readyTimeoutMs,
      shell: this.#deps.shell,
      signal,
    });
    if (this.#closing) {
      session.close();
      throw new ReachError('CONNECTION_ERROR', 'the client is shutting down');
    }
    this.#live.set(meta.session_id, { session, meta });
    session.onClose((exitCode) => this.#onSessionClosed(meta, exitCode));
    await session.settle(150, 3000);
    if (signal?.aborted) {
      // The caller gave up (e.g. its RPC deadline passed): do not leave an orphan session behind.
      this.#forget(meta.session_id);
      throw new ReachError('CANCELLED', 'ssh session open cancelled');
    }
    log.info(
      {
        host: meta.host,
        port: meta.port,
        username: meta.username,
        auth: meta.auth,
        jumpHosts: meta.jump_hosts.length,
        ms: Date.now() - started,
      },
      'ssh session open',
    );
    return session;
  }

  #onSessionClosed(meta: PersistedSession, exitCode: number | undefined): void {
    if (this.#closing || !this.#live.has(meta.session_id)) return;
    this.#live.delete(meta.session_id);
    // A shell that exited was ended on purpose; a dropped connection may be restored later.
    if (exitCode === undefined) this.#restorable.add(meta);
    this.#log.info({ sessionId: meta.session_id, exitCode }, 'ssh session ended');
    void this.#persist();
  }

  /** Closes and drops a live session without keeping it for restore. */
  #forget(id: string): void {
    const live = this.#live.get(id);
    if (live === undefined) return;
    this.#live.delete(id);
    live.session.close();
  }

  async #persist(): Promise<void> {
    if (this.#closing) return;
    await this.#restorable.save([...this.#live.values()].map((l) => l.meta));
  }
}
