import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import type { ReachError } from '@reach/protocol';
import type { WebSocket } from 'ws';
import type { TerminalEnd, TerminalSession } from '../terminal/terminal-session.ts';
import { terminalWsRoute } from './terminal-ws-route.ts';

/** The parts of a `ws` WebSocket the route uses; `bufferedAmount` and send callbacks by hand. */
class FakeWs extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  paused = false;
  readonly sent: Array<string | Uint8Array> = [];
  readonly callbacks: Array<() => void> = [];
  closedWith: number | undefined;
  send(data: string | Uint8Array, opts?: unknown, cb?: () => void): void {
    this.sent.push(data);
    if (typeof opts === 'function') this.callbacks.push(opts as () => void);
    else if (cb) this.callbacks.push(cb);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(code: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
}

class FakeSession implements TerminalSession {
  readonly id = '1796300000000-abcdef01';
  readonly shell = '/bin/sh';
  readonly written: string[] = [];
  readonly resized: string[] = [];
  paused = false;
  resumes = 0;
  writable = true;
  closed: ReachError | undefined | null = null;
  #data: Array<(b: Uint8Array) => void> = [];
  #exit: Array<(e: TerminalEnd) => void> = [];
  #drain: Array<() => void> = [];
  write(b: Uint8Array): boolean {
    this.written.push(Buffer.from(b).toString());
    return this.writable;
  }
  onDrain(l: () => void): void {
    this.#drain.push(l);
  }
  drain(): void {
    for (const l of this.#drain.splice(0)) l();
  }
  resize(c: number, r: number): void {
    this.resized.push(`${c}x${r}`);
  }
  onData(l: (b: Uint8Array) => void): void {
    this.#data.push(l);
  }
  emit(text: string): void {
    for (const l of this.#data) l(Buffer.from(text));
  }
  onExit(l: (e: TerminalEnd) => void): void {
    this.#exit.push(l);
  }
  end(e: TerminalEnd): void {
    for (const l of this.#exit) l(e);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.resumes++;
  }
  close(reason?: ReachError): void {
    this.closed = reason;
  }
}

async function connect(query = '?cols=80&rows=24'): Promise<{ ws: FakeWs; session: FakeSession }> {
  const session = new FakeSession();
  const route = terminalWsRoute({ open: async () => session });
  const ws = new FakeWs();
  const path = '/api/clients/0b6c4c5e-1f0e-4a53-9b0e-8a1f8f0e6a11/terminal';
  const match = route.path.exec(path);
  assert.ok(match);
  route.open(ws as unknown as WebSocket, { url: `${path}${query}` } as IncomingMessage, match, 'key:x');
  await new Promise((r) => setImmediate(r));
  return { ws, session };
}

describe('terminalWsRoute', () => {
  test('ready first, then output as binary, keystrokes and resizes to the session, exit last', async () => {
    const { ws, session } = await connect();
    assert.deepEqual(JSON.parse(ws.sent[0] as string), { type: 'ready', id: session.id });
    session.emit('hi');
    assert.equal(Buffer.from(ws.sent[1] as Uint8Array).toString(), 'hi');
    ws.emit('message', Buffer.from('ls\r'), true);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'resize', cols: 100, rows: 30 })), false);
    assert.deepEqual(session.written, ['ls\r']);
    assert.deepEqual(session.resized, ['100x30']);
    session.end({ kind: 'exit', code: 0, signal: null });
    assert.deepEqual(JSON.parse(ws.sent.at(-1) as string), { type: 'exit', code: 0, signal: null });
    assert.equal(ws.closedWith, 1000);
  });

  test('a slow browser pauses the session; it resumes once the socket has sent its backlog', async () => {
    const { ws, session } = await connect();
    ws.bufferedAmount = 2 * 1024 * 1024;
    session.emit('x'.repeat(1000));
    assert.equal(session.paused, true);
    const resumesBefore = session.resumes;
    ws.callbacks.at(-1)?.();
    assert.equal(session.resumes, resumesBefore, 'still over the low mark');
    ws.bufferedAmount = 0;
    ws.callbacks.at(-1)?.();
    assert.equal(session.paused, false);
  });

  test('a keystroke the SSH channel cannot take stops reading the socket until it drains', async () => {
    const { ws, session } = await connect();
    session.writable = false;
    ws.emit('message', Buffer.from('a'), true);
    assert.equal(ws.paused, true);
    session.drain();
    assert.equal(ws.paused, false);
  });

  test('a bad size or a bad control message gets the error JSON and a close', async () => {
    const bad = await connect('?cols=0&rows=24');
    assert.equal(JSON.parse(bad.ws.sent[0] as string).error, 'INVALID_ARGUMENT');
    assert.equal(bad.ws.closedWith, 1008);
    const { ws, session } = await connect();
    ws.emit('message', Buffer.from('{"type":"resize","cols":5000,"rows":1}'), false);
    assert.equal(session.closed?.code, 'INVALID_ARGUMENT');
  });
});
