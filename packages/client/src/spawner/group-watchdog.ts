import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '../log/logger.ts';

/**
 * The watchdog, a POSIX shell loop (so it needs no Node: it runs beside a single-executable build
 * too, in about 1 MiB). It reads `+ <pgid>` / `- <pgid>` lines from its stdin, the pipe the client
 * holds, and keeps the set of live process groups. When the pipe closes — the client exited, or was
 * SIGKILLed, which no handler in the client can see — it sends SIGTERM to every group it still
 * holds, waits 1 s, sends SIGKILL, and exits. INT and HUP are ignored so a terminal's ^C or hang-up
 * reaching the client's group does not take the watchdog first; the client's own exit then closes
 * the pipe. `${g%% $pg *} ${g#* $pg }` cuts one id out of the space-framed set without a subprocess.
 */
export const WATCHDOG_SCRIPT = `trap '' INT HUP
g=' '
while read -r op pg; do
  case "$pg" in ''|*[!0-9]*) continue ;; esac
  case "$op" in
    +) g="$g$pg " ;;
    -) case "$g" in *" $pg "*) g="\${g%% $pg *} \${g#* $pg }" ;; esac ;;
  esac
done
set -- $g
[ $# -gt 0 ] || exit 0
for pg; do kill -s TERM -- "-$pg" 2>/dev/null; done
sleep 1
for pg; do kill -s KILL -- "-$pg" 2>/dev/null; done
exit 0
`;

/**
 * Holds the process groups of running commands in a watchdog process (WATCHDOG_SCRIPT) so that they
 * die with the client however the client dies. `start()` spawns it; `add`/`remove` tell it of a
 * group; `close()` closes the pipe, which is also how it learns of a crash. The watchdog leads a
 * session of its own (detached), so signals to the client's group do not reach it, and it is
 * unref'd so it never keeps the client alive.
 */
export class GroupWatchdog {
  readonly #log: Logger;
  readonly #shell: string;
  #child: ChildProcess | undefined;
  #closed = false;

  constructor(deps: { log: Logger; shell?: string }) {
    this.#log = deps.log;
    this.#shell = deps.shell ?? '/bin/sh';
  }

  /** The watchdog's pid once started (tests and the fault bench kill it on purpose). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    if (this.#child || this.#closed) return;
    const child = spawn(this.#shell, ['-c', WATCHDOG_SCRIPT], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', (err) => this.#log.warn({ err }, 'command watchdog failed to start'));
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      if (!this.#closed) this.#log.warn({ code, signal }, 'command watchdog exited');
    });
    // A dead watchdog makes writes fail with EPIPE: logged by 'exit' above, not thrown.
    child.stdin?.on('error', () => undefined);
    child.unref();
    // The pipe's handle would keep the event loop alive as well.
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.#child = child;
  }

  /** The group led by `pgid` is to die with the client. */
  add(pgid: number): void {
    this.#send('+', pgid);
  }

  /** The group's command has ended: the watchdog forgets it, so a reused id is never signalled. */
  remove(pgid: number): void {
    this.#send('-', pgid);
  }

  #send(op: '+' | '-', pgid: number): void {
    const stdin = this.#child?.stdin;
    if (!stdin || stdin.destroyed || !Number.isSafeInteger(pgid) || pgid <= 1) return;
    stdin.write(`${op} ${pgid}\n`);
  }

  /** Closes the pipe: the watchdog kills whatever groups it still holds, then exits. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#child?.stdin?.end();
    this.#child = undefined;
  }
}
