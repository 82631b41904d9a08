import { ReachError } from '@reach/protocol';
import type { OnwardConnection, OnwardShell } from '../tunnel/onward-connect.ts';
import {
  type ActiveCommand,
  commandOutput,
  commandTimeoutError,
  feedCommand,
  frameCommand,
  ORPHAN_MARKER,
} from './active-command.ts';
import { splitPartialEscape, toPlainText } from './terminal-text.ts';

export interface ShellSessionInfo {
  id: string;
  host: string;
  port: number;
  username: string;
  /** Milliseconds since the epoch, from the injected clock. */
  createdAt: number;
}

export interface ShellSessionOptions {
  info: ShellSessionInfo;
  shell: OnwardShell;
  connection: OnwardConnection;
  /** Wall clock in ms; drives last_activity (idle expiry), not timeouts. */
  clock: () => number;
  /** Unread output kept per session, in UTF-16 code units; past it the oldest is dropped and flagged. */
  maxBufferChars: number;
  /** Most output one ssh_session_read returns; the rest stays buffered (`has_more`). */
  maxReadChars?: number;
  /** Quiet gap that ends an ssh_session_read, in ms (default 250). */
  readSettleMs?: number;
}

export interface CommandOutcome {
  output: string;
  exitCode: number;
  truncated: boolean;
}

export interface ReadOutcome {
  stdout: string;
  hasMore: boolean;
  dropped: boolean;
}

const DEFAULT_MAX_READ_CHARS = 256 * 1024;
/**
 * Quiet gap after which a read returns, in ms: a shell answering a prompt echoes it and prints
 * its next line within milliseconds on a LAN, but a loaded host or a jump chain adds tens of ms
 * per hop; 250 ms keeps one line from being split off while costing a person nothing.
 */
const DEFAULT_READ_SETTLE_MS = 250;
/**
 * One interactive PTY shell on a remote host. Commands run one at a time; their output is what the
 * shell prints between a start line and an end line carrying a per-command random nonce (and `$?`).
 * Other output waits in a bounded buffer for `read`. Owned by the session manager, which closes it.
 */
export class ShellSession {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly createdAt: number;
  lastActivity: number;

  readonly #shell: OnwardShell;
  readonly #connection: OnwardConnection;
  readonly #clock: () => number;
  readonly #maxBufferChars: number;
  readonly #maxReadChars: number;
  readonly #readSettleMs: number;
  #pending = '';
  /** When output last went to the read buffer (Date.now()), for has_more. */
  #lastDataAt = 0;
  /** Counts chunks of output, so a read knows whether any arrived while it waited. */
  #dataSeq = 0;
  #dropped = false;
  #active: ActiveCommand | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #wakers = new Set<() => void>();
  readonly #closeListeners: Array<(exitCode: number | undefined) => void> = [];

  constructor(options: ShellSessionOptions) {
    this.id = options.info.id;
    this.host = options.info.host;
    this.port = options.info.port;
    this.username = options.info.username;
    this.createdAt = options.info.createdAt;
    this.lastActivity = options.info.createdAt;
    this.#shell = options.shell;
    this.#connection = options.connection;
    this.#clock = options.clock;
    this.#maxBufferChars = options.maxBufferChars;
    this.#maxReadChars = options.maxReadChars ?? DEFAULT_MAX_READ_CHARS;
    this.#readSettleMs = options.readSettleMs ?? DEFAULT_READ_SETTLE_MS;
    this.#shell.onData((text) => this.#onData(text));
    this.#shell.onClose((code) => this.#onClosed(code));
    this.#connection.onClose(() => this.#onClosed(undefined));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A command is running: the session is in use even if no call touched it lately. */
  get busy(): boolean {
    return this.#active !== undefined;
  }

  touch(): void {
    this.lastActivity = this.#clock();
  }

  /** Called once when the shell or its connection ends, with the shell's exit status if known. */
  onClose(listener: (exitCode: number | undefined) => void): void {
    this.#closeListeners.push(listener);
  }

  /** Waits for the login output (banner, first prompt) to arrive and go quiet; bounded by `maxMs`. */
  async settle(quietMs: number, maxMs: number): Promise<void> {
    const end = Date.now() + maxMs;
    let seen = this.#pending.length;
    await this.#waitForData(Math.max(0, end - Date.now()));
    while (!this.#closed && Date.now() < end) {
      await this.#waitForData(Math.min(quietMs, Math.max(0, end - Date.now())));
      if (this.#pending.length === seen) return;
      seen = this.#pending.length;
    }
  }

  /**
   * Runs `command` in the shell and resolves with its output and exit status once its end marker
   * arrives. Commands queue behind each other; `timeoutMs` counts from the call. On timeout the
   * command gets Ctrl-C and the call fails with SSH_COMMAND_TIMEOUT carrying the partial output.
   * Unread output from before the command is discarded.
   */
  command(command: string, timeoutMs: number, signal?: AbortSignal): Promise<CommandOutcome> {
    const deadline = Date.now() + timeoutMs;
    const turn = this.#queue.then(() => this.#run(command, deadline, timeoutMs, signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  #run(command: string, deadline: number, timeoutMs: number, signal?: AbortSignal): Promise<CommandOutcome> {
    this.touch();
    if (this.#closed) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(new ReachError('CANCELLED', 'command cancelled'));
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.reject(commandTimeoutError(this.id, timeoutMs));
    this.#pending = '';
    this.#dropped = false;
    const { text, startMarker, endMarker } = frameCommand(command);
    return new Promise<CommandOutcome>((resolve, reject) => {
      const onAbort = (): void => {
        finish(new ReachError('CANCELLED', 'command cancelled'));
        this.#interrupt();
      };
      const timer = setTimeout(() => {
        const active = this.#active;
        finish(commandTimeoutError(this.id, timeoutMs, active));
        this.#interrupt();
      }, remaining);
      const finish = (outcome: CommandOutcome | ReachError): void => {
        if (this.#active !== active) return;
        this.#active = undefined;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.touch();
        if (outcome instanceof ReachError) reject(outcome);
        else resolve(outcome);
      };
      const active: ActiveCommand = {
        raw: '',
        truncated: false,
        searchFrom: 0,
        startMarker,
        startAt: undefined,
        endMarker,
        done: finish,
      };
      this.#active = active;
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.#shell.write(text);
      } catch (err) {
        finish(err instanceof ReachError ? err : this.#closedError());
      }
    });
  }

  /** Writes `text` (and Enter, `\r`, as a terminal sends it) to the shell; returns the bytes sent. */
  send(text: string, sendNewline: boolean): number {
    this.touch();
    if (this.#closed) throw this.#closedError('SSH_SESSION_SEND_ERROR');
    return this.#shell.write(sendNewline ? `${text}\r` : text);
  }

  /**
   * Returns output as plain text once it has been quiet for the settle gap: it waits up to
   * `timeoutMs` for output to start, then keeps reading while it flows and returns after
   * `readSettleMs` without new output (or at the timeout, or once a read's worth is buffered).
   * Output already buffered when the call starts waits for the gap too, so the rest of a burst
   * (the line after an echoed prompt answer) comes with it. Output produced while a command runs
   * belongs to that command, not to reads. `hasMore`: output is left buffered after this answer,
   * or output came during this read less than a settle gap before it returned (still flowing).
   */
  async read(timeoutMs: number, signal?: AbortSignal): Promise<ReadOutcome> {
    this.touch();
    const seqAtStart = this.#dataSeq;
    const end = Date.now() + timeoutMs;
    if (this.#pending === '' && !this.#closed) await this.#waitForData(timeoutMs, signal);
    let settled = this.#pending === '' || this.#closed;
    while (!settled && !signal?.aborted && this.#pending.length < this.#maxReadChars) {
      const left = end - Date.now();
      if (left <= 0) break;
      const seen = this.#pending.length;
      await this.#waitForData(Math.min(this.#readSettleMs, left), signal);
      settled = this.#pending.length === seen || this.#closed;
    }
    this.touch();
    const take = this.#pending.slice(0, this.#maxReadChars);
    const rest = this.#pending.slice(take.length);
    const [ready, held] = splitPartialEscape(take);
    this.#pending = held + rest;
    const dropped = this.#dropped;
    this.#dropped = false;
    return {
      stdout: toPlainText(ready.replace(ORPHAN_MARKER, '\n')),
      // Still flowing: output came during this read and less than a settle gap ago.
      hasMore:
        this.#pending.length > 0 ||
        (!this.#closed && this.#dataSeq !== seqAtStart && Date.now() - this.#lastDataAt < this.#readSettleMs),
      dropped,
    };
  }

  /** Closes the shell and its connection. Idempotent. */
  close(): void {
    this.#shell.close();
    this.#connection.close();
    this.#onClosed(undefined);
  }

  #interrupt(): void {
    try {
      if (!this.#closed) this.#shell.write('\x03');
    } catch {
      // The shell closed meanwhile: nothing to interrupt.
    }
  }

  #onData(text: string): void {
    const active = this.#active;
    if (active === undefined) {
      this.#appendPending(text);
      return;
    }
    const rest = feedCommand(active, text, this.#maxBufferChars);
    if (rest !== '') this.#appendPending(rest);
  }

  #appendPending(text: string): void {
    this.#lastDataAt = Date.now();
    this.#dataSeq += 1;
    this.#pending += text;
    const over = this.#pending.length - this.#maxBufferChars;
    if (over > 0) {
      this.#pending = this.#pending.slice(over);
      this.#dropped = true;
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#wakers]) w();
  }

  #waitForData(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #onClosed(exitCode: number | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    // The shell ending (e.g. `exit`) ends the session: release the whole connection chain too.
    this.#shell.close();
    this.#connection.close();
    const active = this.#active;
    if (active !== undefined) {
      if (exitCode !== undefined) {
        active.done({
          output: commandOutput(active),
          exitCode,
          truncated: active.truncated,
        });
      } else {
        active.done(
          new ReachError('SSH_CONNECTION_FAILED', 'the session closed while the command ran', {
            details: { session_id: this.id, partial_output: commandOutput(active) },
          }),
        );
      }
    }
    this.#wake();
    for (const l of this.#closeListeners) l(exitCode);
  }

  #closedError(
    code: 'SSH_SESSION_SEND_ERROR' | 'SSH_SESSION_NOT_FOUND' = 'SSH_SESSION_SEND_ERROR',
  ): ReachError {
    return new ReachError(code, `session ${this.id} is closed`, {
      details: { session_id: this.id },
      recoveryHint: 'open a new session',
    });
  }
}
