import { constants } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  encodeTerminalFrame,
  ReachError,
  type TerminalFrame,
  TerminalFrameDecoder,
  type TerminalOpen,
  toReachError,
} from '@reach/protocol';
import type { Logger } from '../log/logger.ts';
import { listProcesses } from '../spawner/proc-stat.ts';
import type { Pty, SpawnPty } from './load-pty.ts';

/** Shells one client runs at once for browser terminals; the next is refused (PtyHost.serve). */
export const DEFAULT_MAX_PTYS = 4;

export interface PtyHostDeps {
  spawn: () => Promise<SpawnPty | undefined>;
  /** The login shell: $SHELL, else /bin/sh. */
  shell: string;
  /** Where the shell starts: the user's home. */
  cwd: string;
  /** The shell's environment (TERM is set to xterm-256color over it). */
  env: Record<string, string>;
  max?: number;
  /** Signals a process group (default: process.kill(-pgid)); tests pass a recorder. */
  killGroup?: (pgid: number, signal: NodeJS.Signals) => void;
  log: Logger;
}

/** Name of a signal number (node-pty reports numbers), e.g. 9 → SIGKILL. */
function signalName(n: number): string {
  for (const [name, value] of Object.entries(constants.signals)) if (value === n) return name;
  return `SIG${n}`;
}

/**
 * Runs the browser terminals' shells: one PTY per terminal stream the server opens, at most
 * `max` at once. Output goes to the channel as it comes, and when the channel's write buffer is
 * full (SSH flow control: the server stopped reading because the browser is slow) the PTY is
 * paused until `drain`, so the shell blocks instead of this process buffering without bound.
 * The PTY's process group is killed when its channel closes and when the host closes.
 */
export class PtyHost {
  readonly #d: PtyHostDeps;
  readonly #live = new Set<Pty>();

  constructor(deps: PtyHostDeps) {
    this.#d = deps;
  }

  get open(): number {
    return this.#live.size;
  }

  /** Serves one terminal stream whose open frame was read (stream-dispatch.ts). */
  serve(channel: Duplex, open: TerminalOpen): void {
    channel.on('error', () => {});
    this.#start(channel, open).catch((err: unknown) => {
      const e = toReachError(err);
      this.#d.log.warn({ code: e.code, msg: e.message }, 'terminal refused');
      channel.write(encodeTerminalFrame({ type: 'error', error: e }));
      channel.end();
    });
  }

  async #start(channel: Duplex, open: TerminalOpen): Promise<void> {
    const max = this.#d.max ?? DEFAULT_MAX_PTYS;
    if (this.#live.size >= max) {
      throw new ReachError('RATE_LIMIT_EXCEEDED', `this client already runs ${max} terminals`, {
        details: { limit: max },
        recoveryHint: 'close another terminal on this client first',
      });
    }
    const spawn = await this.#d.spawn();
    if (!spawn) {
      throw new ReachError(
        'METHOD_NOT_FOUND',
        'this client does not open terminals (no PTY support, or `terminal: false` in its config)',
        { recoveryHint: 'use run_command, or run the npm-installed client with terminal: true' },
      );
    }
    const pty = spawn(this.#d.shell, [], {
      cols: open.cols,
      rows: open.rows,
      cwd: this.#d.cwd,
      env: { ...this.#d.env, TERM: 'xterm-256color' },
    });
    this.#live.add(pty);
    const log = this.#d.log.child({ terminal: pty.pid });
    log.info({ shell: this.#d.shell, cols: open.cols, rows: open.rows }, 'terminal opened');
    let exited = false;
    const send = (frame: TerminalFrame): boolean => channel.write(encodeTerminalFrame(frame));
    send({ type: 'ready', pid: pty.pid, shell: this.#d.shell });
    pty.onData((data) => {
      if (!send({ type: 'data', data })) {
        pty.pause();
        channel.once('drain', () => pty.resume());
      }
    });
    pty.onExit(({ exitCode, signal }) => {
      exited = true;
      this.#live.delete(pty);
      const sig = signal ? signalName(signal) : null;
      log.info({ code: exitCode, signal: sig }, 'terminal exited');
      send({ type: 'exit', code: sig ? null : exitCode, signal: sig });
      channel.end();
    });
    const decoder = new TerminalFrameDecoder();
    channel.on('data', (chunk: Buffer) => {
      let frames: TerminalFrame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        log.warn({ err: toReachError(err).message }, 'bad terminal frame; closing');
        channel.destroy();
        return;
      }
      for (const f of frames) {
        if (exited) return;
        if (f.type === 'data') pty.write(f.data);
        else if (f.type === 'resize') pty.resize(f.cols, f.rows);
      }
    });
    channel.once('close', () => {
      if (!exited) this.#kill(pty);
    });
  }

  /**
   * Kills the shell's process group (the shell leads its own session), then the PTY. An
   * interactive shell puts background jobs (`sleep 1000 &`) in groups of their own, so where
   * there is a /proc every other process of the shell's session is killed too.
   */
  #kill(pty: Pty): void {
    this.#live.delete(pty);
    try {
      (this.#d.killGroup ?? ((pgid, sig) => process.kill(-pgid, sig)))(pty.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    if (!this.#d.killGroup) void killSessionMembers(pty.pid);
    try {
      pty.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Kills every shell (the client is exiting). */
  close(): void {
    for (const pty of [...this.#live]) this.#kill(pty);
  }
}

/** SIGKILL to every process whose session is `sid` (the shell's jobs, whatever their group). */
async function killSessionMembers(sid: number): Promise<void> {
  for (const p of await listProcesses()) {
    if (p.session !== sid) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
