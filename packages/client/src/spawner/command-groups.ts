import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import { type GroupLedger, RUN_ID_ENV } from './group-ledger.ts';
import type { GroupWatchdog } from './group-watchdog.ts';
import { readProcStat } from './proc-stat.ts';

/** One command's claim on its process group, taken before spawn and released when it has ended. */
export interface GroupHold {
  /** Added to the command's environment (its run id, which the start-up sweep looks for). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The command's leader (its pgid, as it was spawned detached) exists now. Called again with
   * another pid, the claim moves to it (a pooled shell that was to start it died, and a plain spawn
   * starts it instead).
   */
  spawned(pid: number): void;
  /** The command has ended and its group was killed if it had to be: forget it. Idempotent. */
  release(): void;
}

/**
 * Makes commands die with the client: every group is handed to the watchdog (which kills it when
 * the client's end of its pipe closes) and recorded in the ledger (which the next start sweeps when
 * the watchdog died too). `start()` sweeps, then starts the watchdog.
 */
export class CommandGroups {
  readonly #watchdog: GroupWatchdog;
  readonly #ledger: GroupLedger | undefined;
  readonly #log: Logger;

  constructor(deps: { watchdog: GroupWatchdog; ledger?: GroupLedger; log: Logger }) {
    this.#watchdog = deps.watchdog;
    this.#ledger = deps.ledger;
    this.#log = deps.log;
  }

  async start(): Promise<void> {
    await this.#ledger?.sweep();
    this.#watchdog.start();
  }

  hold(): GroupHold {
    const runId = randomBytes(8).toString('hex');
    let pgid = 0;
    let released = false;
    let recorded: Promise<void> = Promise.resolve();
    // The group `id` is no longer this command's: out of the watchdog, and out of the ledger once
    // whatever was recording it is done.
    const forget = (id: number) => {
      this.#watchdog.remove(id);
      const ledger = this.#ledger;
      if (!ledger) return;
      recorded = recorded
        .then(() => ledger.remove(id))
        .catch((err: unknown) => this.#log.warn({ err, pgid: id }, 'removing a command group failed'));
    };
    return {
      env: { [RUN_ID_ENV]: runId },
      spawned: (pid) => {
        if (released || pgid === pid) return;
        if (pgid !== 0) forget(pgid);
        pgid = pid;
        this.#watchdog.add(pid);
        const ledger = this.#ledger;
        if (!ledger) return;
        const previous = recorded;
        recorded = (async () => {
          await previous;
          const stat = await readProcStat(pid);
          // Gone already (or no procfs): nothing is left for a later start to find by this entry.
          if (stat === undefined || released || pgid !== pid) return;
          await ledger.record({ pgid: pid, start: stat.start, run_id: runId });
        })().catch((err: unknown) => this.#log.warn({ err, pgid: pid }, 'recording a command group failed'));
      },
      release: () => {
        if (released) return;
        released = true;
        if (pgid !== 0) forget(pgid);
      },
    };
  }

  /** Closes the watchdog's pipe (it kills any group still held). */
  close(): void {
    this.#watchdog.close();
  }
}
