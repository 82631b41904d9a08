import type { Duplex } from 'node:stream';
import {
  encodeTerminalFrame,
  ReachError,
  type TerminalFrame,
  type TerminalFrameDecoder,
  toReachError,
} from '@reach/protocol';

/** How a terminal ended: the shell exited, or the session failed (link lost, idle, refused). */
export type TerminalEnd =
  | { kind: 'exit'; code: number | null; signal: string | null }
  | { kind: 'error'; error: ReachError };

/** A browser terminal as the HTTP layer sees it, in Reach's own types. */
export interface TerminalSession {
  readonly id: string;
  readonly shell: string;
  /** Keystrokes to the shell. false: the SSH channel's buffer is full, wait for `onDrain`. */
  write(bytes: Uint8Array): boolean;
  onDrain(listener: () => void): void;
  resize(cols: number, rows: number): void;
  onData(listener: (bytes: Uint8Array) => void): void;
  /** Called once, when the session ends for any reason. */
  onExit(listener: (end: TerminalEnd) => void): void;
  /** Stop / restart reading the SSH channel (the consumer is slow): SSH flow control stops the PTY. */
  pause(): void;
  resume(): void;
  /** Ends the session (kills the shell); `reason` is what onExit reports, if it has not fired. */
  close(reason?: ReachError): void;
}

export interface ChannelSessionHooks {
  output(bytes: Uint8Array): void;
  activity(): void;
  resized(cols: number, rows: number): void;
  ended(end: TerminalEnd): void;
}

/**
 * The server's end of a terminal stream after `ready`: frames in, frames out. Listeners are set
 * before the channel is read again (the service resumes it once the session is handed over).
 */
export class ChannelTerminalSession implements TerminalSession {
  readonly id: string;
  readonly shell: string;
  readonly #channel: Duplex;
  readonly #hooks: ChannelSessionHooks;
  readonly #data: Array<(b: Uint8Array) => void> = [];
  readonly #exit: Array<(e: TerminalEnd) => void> = [];
  #end: TerminalEnd | undefined;
  /** Frames that came with `ready`, handed out on the first resume(). */
  #pending: TerminalFrame[] | undefined;

  /**
   * `channel` is paused and stays so until the first resume(): the consumer sets its listeners
   * first, so no output is lost between `ready` and them.
   */
  constructor(
    id: string,
    shell: string,
    channel: Duplex,
    decoder: TerminalFrameDecoder,
    pending: TerminalFrame[],
    hooks: ChannelSessionHooks,
  ) {
    this.id = id;
    this.shell = shell;
    this.#channel = channel;
    this.#hooks = hooks;
    this.#pending = pending;
    channel.on('data', (chunk: Buffer) => {
      let frames: TerminalFrame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        this.close(toReachError(err));
        return;
      }
      for (const f of frames) this.#frame(f);
    });
    channel.on('close', () =>
      this.#finish({
        kind: 'error',
        error: new ReachError(
          'CONNECTION_ERROR',
          'the link to the client closed during the terminal session',
        ),
      }),
    );
  }

  #frame(f: TerminalFrame): void {
    if (this.#end) return;
    if (f.type === 'data') {
      this.#hooks.output(f.data);
      this.#hooks.activity();
      for (const l of this.#data) l(f.data);
    } else if (f.type === 'exit') {
      this.#finish({ kind: 'exit', code: f.code, signal: f.signal });
      this.#channel.destroy();
    } else if (f.type === 'error') {
      this.#finish({ kind: 'error', error: f.error });
      this.#channel.destroy();
    }
  }

  write(bytes: Uint8Array): boolean {
    if (this.#end) return true;
    this.#hooks.activity();
    return this.#channel.write(encodeTerminalFrame({ type: 'data', data: bytes }));
  }

  onDrain(listener: () => void): void {
    this.#channel.once('drain', listener);
  }

  resize(cols: number, rows: number): void {
    if (this.#end) return;
    this.#hooks.activity();
    this.#hooks.resized(cols, rows);
    this.#channel.write(encodeTerminalFrame({ type: 'resize', cols, rows }));
  }

  onData(listener: (bytes: Uint8Array) => void): void {
    this.#data.push(listener);
  }

  onExit(listener: (end: TerminalEnd) => void): void {
    if (this.#end) listener(this.#end);
    else this.#exit.push(listener);
  }

  pause(): void {
    this.#channel.pause();
  }

  resume(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    for (const f of pending ?? []) this.#frame(f);
    if (!this.#end) this.#channel.resume();
  }

  close(reason?: ReachError): void {
    this.#finish({ kind: 'error', error: reason ?? new ReachError('CANCELLED', 'terminal closed') });
    // No half-close on ssh2 server channels (PITFALLS 3): closing is final, the client kills the shell.
    this.#channel.destroy();
  }

  #finish(end: TerminalEnd): void {
    if (this.#end) return;
    this.#end = end;
    this.#hooks.ended(end);
    for (const l of this.#exit.splice(0)) l(end);
  }
}
