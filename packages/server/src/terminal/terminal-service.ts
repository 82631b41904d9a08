import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  encodeFrame,
  ReachError,
  TERMINAL,
  type TerminalFrame,
  TerminalFrameDecoder,
  type TerminalSize,
  toReachError,
} from '@reach/protocol';
import type { Logger } from '../log/logger.ts';
import type { OperationRecord } from '../operations/operation-record.ts';
import { AsciicastRecorder } from './asciicast-recorder.ts';
import { Recordings } from './recordings.ts';
import { ChannelTerminalSession, type TerminalSession } from './terminal-session.ts';

export const DEFAULT_TERMINAL_MAX_PER_CLIENT = 4;
export const DEFAULT_TERMINAL_IDLE_TIMEOUT_S = 15 * 60;
/** How long a client has to start the shell and say `ready` (a PTY spawn takes ~5 ms). */
const READY_TIMEOUT_MS = 15_000;
/** Recordings are swept hourly, as command history is. */
const PRUNE_EVERY_MS = 3_600_000;

export interface TerminalServiceDeps {
  /** A fresh `stream` channel to the online client (link.openStreamChannel()). */
  openStream(uuid: string): Promise<Duplex>;
  /** What the online client's hello advertised; throws the registry's error when it is not online. */
  capabilities(uuid: string): readonly string[];
  /** `<data-dir>/recordings`. */
  recordingsDir: string;
  maxPerClient: number;
  /** Nothing typed and nothing printed this long closes the session; 0: never. */
  idleTimeoutMs: number;
  /** Recordings older than this are deleted (at start and hourly); 0: kept forever. */
  recordingRetentionDays: number;
  /** A recording stops (with a marker event) at this size; the session goes on. */
  recordingMaxBytes: number;
  /** The operations layer: `terminal_open` goes to command history and the audit log. */
  record(record: OperationRecord): void;
  log: Logger;
}

/**
 * Browser terminals: a PTY shell on a client over a stream channel of its own on the SSH link,
 * at most `maxPerClient` per client, closed after `idleTimeoutMs` without traffic, and recorded
 * as asciicast v2 (recordings.ts).
 */
export class TerminalService {
  readonly recordings: Recordings;
  readonly #d: TerminalServiceDeps;
  /** Sessions (and opens in progress) per client uuid. */
  readonly #perClient = new Map<string, number>();
  readonly #live = new Map<string, TerminalSession>();
  #pruneTimer: NodeJS.Timeout | undefined;

  constructor(deps: TerminalServiceDeps) {
    this.#d = deps;
    this.recordings = new Recordings(deps.recordingsDir, (id) => this.#live.has(id));
    if (deps.recordingRetentionDays > 0) {
      void this.pruneRecordings();
      this.#pruneTimer = setInterval(() => void this.pruneRecordings(), PRUNE_EVERY_MS);
      this.#pruneTimer.unref();
    }
  }

  /** Deletes recordings past the retention (a no-op when it is 0); logs what went. */
  async pruneRecordings(now = Date.now()): Promise<number> {
    const days = this.#d.recordingRetentionDays;
    if (days <= 0) return 0;
    try {
      const n = await this.recordings.prune(now - days * 86_400_000);
      if (n > 0) this.#d.log.info({ removed: n, retention_days: days }, 'old terminal recordings deleted');
      return n;
    } catch (err) {
      this.#d.log.error({ err }, 'terminal recordings prune failed');
      return 0;
    }
  }

  /** Open sessions. */
  get openCount(): number {
    return this.#live.size;
  }

  async open(
    uuid: string,
    size: TerminalSize,
    caller: string,
    signal: AbortSignal,
  ): Promise<TerminalSession> {
    const started = performance.now();
    const args = { shell: '', cols: size.cols, rows: size.rows };
    const count = this.#perClient.get(uuid) ?? 0;
    const log = (outcome: string, id?: string) =>
      this.#d.record({
        tool: 'terminal_open',
        args,
        caller,
        client: uuid,
        outcome,
        durationMs: Math.round(performance.now() - started),
        result: id === undefined ? null : { id },
      });
    if (count >= this.#d.maxPerClient) {
      const err = new ReachError('RATE_LIMIT_EXCEEDED', `client already has ${count} open terminals`, {
        details: { limit: this.#d.maxPerClient },
        recoveryHint: 'close another terminal on this client first',
      });
      log(err.code);
      throw err;
    }
    this.#perClient.set(uuid, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const n = (this.#perClient.get(uuid) ?? 1) - 1;
      if (n <= 0) this.#perClient.delete(uuid);
      else this.#perClient.set(uuid, n);
    };
    let channel: Duplex | undefined;
    try {
      signal.throwIfAborted();
      // Refused here, before a channel is opened, for a client that said it cannot (single
      // executables, Windows, `terminal: false`); the client would refuse the same way.
      if (!this.#d.capabilities(uuid).includes('terminal'))
        throw new ReachError('METHOD_NOT_FOUND', 'this client does not offer terminals', {
          details: { capability: 'terminal' },
          recoveryHint:
            'the client lacks the terminal capability (a single executable, Windows, or terminal: false in its config); use run_command',
        });
      channel = await this.#d.openStream(uuid);
      channel.on('error', () => {});
      const decoder = new TerminalFrameDecoder();
      channel.write(encodeFrame({ op: 'terminal', v: TERMINAL.version, cols: size.cols, rows: size.rows }));
      const { ready, rest } = await awaitReady(channel, decoder, signal);
      args.shell = ready.shell;
      const id = `${Date.now()}-${randomBytes(4).toString('hex')}`;
      const recorder = await AsciicastRecorder.create(
        this.recordings.fileFor(uuid, id),
        {
          width: size.cols,
          height: size.rows,
          timestamp: Math.floor(Date.now() / 1000),
          env: { TERM: 'xterm-256color', SHELL: ready.shell },
          reach_caller: caller,
        },
        performance.now(),
        this.#d.recordingMaxBytes,
      );
      const sessionLog = this.#d.log.child({ terminal: id, client: uuid });
      let idle: NodeJS.Timeout | undefined;
      const idleMs = this.#d.idleTimeoutMs;
      const touch = (): void => {
        if (idleMs <= 0) return;
        clearTimeout(idle);
        idle = setTimeout(() => {
          session.close(
            new ReachError('TIMEOUT', `terminal closed after ${idleMs / 1000} s without input or output`, {
              recoveryHint: 'open a new terminal',
            }),
          );
        }, idleMs);
        idle.unref();
      };
      const session: TerminalSession = new ChannelTerminalSession(id, ready.shell, channel, decoder, rest, {
        output: (b) => recorder.output(b),
        resized: (c, r) => recorder.resize(c, r),
        activity: touch,
        ended: (end) => {
          clearTimeout(idle);
          release();
          this.#live.delete(id);
          recorder.close().catch((err: unknown) => sessionLog.warn({ err }, 'closing the recording failed'));
          sessionLog.info(
            end.kind === 'exit'
              ? { code: end.code, signal: end.signal }
              : { error: end.error.code, msg: end.error.message },
            'terminal ended',
          );
        },
      });
      this.#live.set(id, session);
      // The idle clock starts now, so a terminal nobody types into still times out.
      touch();
      sessionLog.info({ caller, shell: ready.shell, pid: ready.pid }, 'terminal opened');
      log('OK', id);
      return session;
    } catch (err) {
      release();
      channel?.destroy();
      const e = toReachError(err);
      log(e.code);
      throw e;
    }
  }

  /** Ends every session (shutdown). */
  close(): void {
    clearInterval(this.#pruneTimer);
    for (const s of [...this.#live.values()])
      s.close(new ReachError('CONNECTION_ERROR', 'the server is shutting down'));
  }
}

type ReadyFrame = Extract<TerminalFrame, { type: 'ready' }>;

/** Waits for the client's first frame: `ready` (with what came after it) or its typed error. */
function awaitReady(
  channel: Duplex,
  decoder: TerminalFrameDecoder,
  signal: AbortSignal,
): Promise<{ ready: ReadyFrame; rest: TerminalFrame[] }> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      channel.off('data', onData);
      channel.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    };
    const fail = (err: unknown): void => {
      cleanup();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      let frames: TerminalFrame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        fail(err);
        return;
      }
      const [first, ...rest] = frames;
      if (!first) return;
      cleanup();
      channel.pause();
      if (first.type === 'ready') resolve({ ready: first, rest });
      else if (first.type === 'error') reject(first.error);
      else reject(new ReachError('CONNECTION_ERROR', `terminal stream: expected ready, got ${first.type}`));
    };
    const onClose = (): void =>
      fail(
        new ReachError('CONNECTION_ERROR', 'the client closed the terminal stream before the shell started'),
      );
    const onAbort = (): void => fail(new ReachError('CANCELLED', 'terminal open cancelled'));
    const timer = setTimeout(
      () =>
        fail(
          new ReachError('TIMEOUT', `the client did not start a shell within ${READY_TIMEOUT_MS / 1000} s`),
        ),
      READY_TIMEOUT_MS,
    );
    channel.on('data', onData);
    channel.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
