import { ReachError, type SshSessionRestoreResult, toReachError } from '@reach/protocol';
import type { Logger } from '../log/logger.ts';
import { type PersistedHop, type PersistedSession, SessionStore } from './session-store.ts';
import type { ShellSession } from './shell-session.ts';

/**
 * The sessions ssh_session_restore may reopen (those of an earlier run, and live ones whose
 * connection dropped), and the metadata file that keeps them, with the live ones, across client
 * restarts. Owned by the session manager.
 */
export class RestorableSessions {
  readonly #store: SessionStore;
  readonly #log: Logger;
  /** Sessions of an earlier run (or lost connections) that ssh_session_restore may reopen. */
  #stale: PersistedSession[] = [];
  #loadError: ReachError | undefined;

  /** `path`: the sessions file. */
  constructor(path: string, log: Logger) {
    this.#store = new SessionStore(path);
    this.#log = log;
  }

  /** Reads the sessions file; if it is unreadable, the next `restore` reports that. */
  async load(): Promise<void> {
    try {
      this.#stale = await this.#store.load();
    } catch (err) {
      this.#loadError = toReachError(err);
      this.#log.warn({ err: this.#loadError.message }, 'ssh sessions file unreadable; restore will fail');
    }
  }

  /** Keeps `meta` (a session whose connection dropped) for a later restore. */
  add(meta: PersistedSession): void {
    this.#stale.push(meta);
  }

  /** Forgets session `id`; false if it is not kept here. */
  remove(id: string): boolean {
    const staleIndex = this.#stale.findIndex((s) => s.session_id === id);
    if (staleIndex === -1) return false;
    this.#stale.splice(staleIndex, 1);
    return true;
  }

  /** Writes the `live` sessions and the kept ones to the file; a failure is logged, not thrown. */
  async save(live: PersistedSession[]): Promise<void> {
    const sessions = [...live, ...this.#stale];
    try {
      await this.#store.save(sessions);
    } catch (err) {
      this.#log.warn({ err: toReachError(err).message }, 'could not save ssh sessions');
    }
  }

  /**
   * Tries to reopen every kept session with `reopen`, in order, through its `hops` (its jump hosts,
   * then itself). Sessions with a password hop come back as manual_required (their passwords were
   * never stored) and are forgotten; failures stay for a later attempt. Does not save the file.
   */
  async restore(
    reopen: (old: PersistedSession, hops: PersistedHop[]) => Promise<ShellSession>,
  ): Promise<SshSessionRestoreResult> {
    const loadError = this.#loadError;
    if (loadError !== undefined) {
      // Reported once; sessions opened since then have already replaced the damaged file.
      this.#loadError = undefined;
      throw new ReachError('SSH_SESSION_RESTORE_ERROR', loadError.message, {
        details: { file: this.#store.path },
        cause: loadError,
        recoveryHint: 'remove or fix the file, then open sessions again',
      });
    }
    const result: SshSessionRestoreResult = { restored: [], failed: [], manual_required: [] };
    const pending = this.#stale;
    this.#stale = [];
    const keep: PersistedSession[] = [];
    for (const old of pending) {
      const hops = [...old.jump_hosts, old];
      if (hops.some((h) => h.auth === 'password')) {
        result.manual_required.push({
          session_id: old.session_id,
          host: old.host,
          reason:
            'password authentication: passwords are not stored; open the session again with ssh_session_open',
        });
        continue;
      }
      try {
        const session = await reopen(old, hops);
        result.restored.push({
          old_session_id: old.session_id,
          new_session_id: session.id,
          host: old.host,
          username: old.username,
        });
      } catch (err) {
        const e = toReachError(err);
        this.#log.warn({ sessionId: old.session_id, code: e.code }, 'ssh session restore failed');
        result.failed.push({ session_id: old.session_id, host: old.host, error: `${e.code}: ${e.message}` });
        keep.push(old);
      }
    }
    this.#stale = [...keep, ...this.#stale];
    return result;
  }
}
