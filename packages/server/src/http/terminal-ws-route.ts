import type { IncomingMessage } from 'node:http';
import { ReachError, TERMINAL, toReachError } from '@reach/protocol';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import type { Logger } from '../log/logger.ts';
import type { TerminalEnd, TerminalSession } from '../terminal/terminal-session.ts';
import type { WsRoute } from './ws-upgrade.ts';

/** Output queued toward the browser past which the SSH channel is no longer read. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** Queued output under which reading resumes. */
const LOW_WATER_BYTES = 256 * 1024;

const Dimension = z.coerce.number().int().min(1).max(TERMINAL.maxDimension);
const TerminalQuery = z.object({ cols: Dimension, rows: Dimension });
const ControlMessage = z.object({
  type: z.literal('resize'),
  cols: z.number().int().min(1).max(TERMINAL.maxDimension),
  rows: z.number().int().min(1).max(TERMINAL.maxDimension),
});

/** What the route needs of TerminalService. */
export interface TerminalOpener {
  open(
    uuid: string,
    size: { cols: number; rows: number },
    caller: string,
    signal: AbortSignal,
  ): Promise<TerminalSession>;
}

function sendJson(ws: WebSocket, value: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(value));
}

/** The contract's error message, then the close frame. */
function fail(ws: WebSocket, err: ReachError): void {
  sendJson(ws, { type: 'error', error: err.code, message: err.message });
  // A paused socket would never read the peer's answering close frame (ws then waits 30 s).
  ws.resume();
  ws.close(err.code === 'INVALID_ARGUMENT' ? 1008 : 1011, err.code);
}

function bytesOf(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * `WS /api/clients/:uuid/terminal?cols=N&rows=N`: binary frames are terminal bytes both ways,
 * text frames JSON control (in: resize; out: ready, exit, error — then the server closes).
 * Flow control both ways: output past HIGH_WATER_BYTES queued in the WebSocket pauses the SSH
 * channel (so SSH flow control pauses the PTY); a keystroke write the SSH channel refuses stops
 * reading the WebSocket until the channel drains.
 */
export function terminalWsRoute(terminals: TerminalOpener, log?: Logger): WsRoute {
  return {
    path: /^\/api\/clients\/([0-9a-fA-F-]{36})\/terminal$/,
    open(ws: WebSocket, req: IncomingMessage, match: RegExpExecArray, caller: string) {
      const uuid = match[1]!.toLowerCase();
      const query = TerminalQuery.safeParse(
        Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams),
      );
      if (!query.success) {
        const issue = query.error.issues[0];
        fail(
          ws,
          new ReachError(
            'INVALID_ARGUMENT',
            `${issue?.path.join('.') || 'query'}: ${issue?.message ?? 'invalid'}`,
          ),
        );
        return;
      }
      const gone = new AbortController();
      ws.once('close', () => gone.abort());
      // Keystrokes typed before the shell is up wait in the socket.
      ws.pause();
      terminals.open(uuid, query.data, caller, gone.signal).then(
        (session) => serve(ws, session, log),
        (err: unknown) => fail(ws, toReachError(err)),
      );
    },
  };
}

function serve(ws: WebSocket, session: TerminalSession, log?: Logger): void {
  if (ws.readyState !== ws.OPEN) {
    session.close();
    return;
  }
  sendJson(ws, { type: 'ready', id: session.id });
  let paused = false;
  const sent = (): void => {
    if (paused && ws.bufferedAmount < LOW_WATER_BYTES) {
      paused = false;
      session.resume();
    }
  };
  session.onData((bytes) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(bytes, { binary: true }, sent);
    if (!paused && ws.bufferedAmount > HIGH_WATER_BYTES) {
      paused = true;
      session.pause();
    }
  });
  session.onExit((end: TerminalEnd) => {
    if (end.kind === 'exit') {
      sendJson(ws, { type: 'exit', code: end.code, signal: end.signal });
      ws.close(1000, 'exit');
    } else {
      fail(ws, end.error);
    }
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      if (!session.write(bytesOf(data))) {
        ws.pause();
        session.onDrain(() => ws.resume());
      }
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(bytesOf(data).toString('utf8'));
    } catch {
      value = undefined;
    }
    const msg = ControlMessage.safeParse(value);
    if (!msg.success) {
      log?.debug({ terminal: session.id }, 'bad terminal control message');
      session.close(
        new ReachError('INVALID_ARGUMENT', 'text frames must be {"type":"resize","cols":N,"rows":N}'),
      );
      return;
    }
    session.resize(msg.data.cols, msg.data.rows);
  });
  ws.once('close', () => session.close());
  ws.resume();
  session.resume();
}
