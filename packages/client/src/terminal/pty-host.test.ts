import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { encodeTerminalFrame, type TerminalFrame, TerminalFrameDecoder } from '@reach/protocol';
import { createLogger } from '../log/logger.ts';
import type { Pty, SpawnPty } from './load-pty.ts';
import { PtyHost } from './pty-host.ts';

/** The client's end of a terminal channel, and what the "server" reads from it. */
function channelPair(): {
  channel: Duplex;
  frames: TerminalFrame[];
  toClient(f: TerminalFrame): void;
  ended: Promise<void>;
} {
  const frames: TerminalFrame[] = [];
  const decoder = new TerminalFrameDecoder();
  let ended!: () => void;
  const endedP = new Promise<void>((r) => {
    ended = r;
  });
  const channel = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      frames.push(...decoder.push(chunk));
      cb();
    },
    final(cb) {
      ended();
      cb();
    },
  });
  return { channel, frames, toClient: (f) => channel.push(encodeTerminalFrame(f)), ended: endedP };
}

class FakePty implements Pty {
  static nextPid = 4_000_000_000;
  readonly pid = FakePty.nextPid++;
  readonly written: string[] = [];
  readonly sizes: string[] = [];
  killed: string | undefined;
  #exit: ((e: { exitCode: number; signal?: number }) => void) | undefined;
  onData(): void {}
  onExit(l: (e: { exitCode: number; signal?: number }) => void): void {
    this.#exit = l;
  }
  write(d: Uint8Array): void {
    this.written.push(Buffer.from(d).toString());
  }
  resize(c: number, r: number): void {
    this.sizes.push(`${c}x${r}`);
  }
  pause(): void {}
  resume(): void {}
  kill(s?: string): void {
    this.killed = s ?? 'SIGHUP';
  }
  exit(code: number, signal?: number): void {
    this.#exit?.({ exitCode: code, ...(signal === undefined ? {} : { signal }) });
  }
}

function host(max = 4): { host: PtyHost; ptys: FakePty[]; groupsKilled: number[] } {
  const ptys: FakePty[] = [];
  const groupsKilled: number[] = [];
  const spawn: SpawnPty = () => {
    const p = new FakePty();
    ptys.push(p);
    return p;
  };
  return {
    host: new PtyHost({
      spawn: async () => spawn,
      shell: '/bin/sh',
      cwd: '/',
      env: {},
      max,
      // Fake pids: never signal a real process group.
      killGroup: (pgid) => groupsKilled.push(pgid),
      log: createLogger('silent'),
    }),
    ptys,
    groupsKilled,
  };
}

const OPEN = { op: 'terminal', v: 1, cols: 80, rows: 24 } as const;
const settle = () => new Promise((r) => setImmediate(r));

describe('PtyHost', () => {
  test('ready, keystrokes and resizes to the PTY, exit code back, then the channel ends', async () => {
    const { host: h, ptys } = host();
    const c = channelPair();
    h.serve(c.channel, OPEN);
    await settle();
    assert.equal(c.frames[0]?.type, 'ready');
    c.toClient({ type: 'data', data: Buffer.from('ls\r') });
    c.toClient({ type: 'resize', cols: 100, rows: 30 });
    await settle();
    assert.deepEqual(ptys[0]?.written, ['ls\r']);
    assert.deepEqual(ptys[0]?.sizes, ['100x30']);
    ptys[0]?.exit(0, 9);
    await c.ended;
    assert.deepEqual(c.frames.at(-1), { type: 'exit', code: null, signal: 'SIGKILL' });
    assert.equal(h.open, 0);
  });

  test('the fifth PTY is refused with RATE_LIMIT_EXCEEDED; closing a channel kills its PTY', async () => {
    const { host: h, ptys, groupsKilled } = host(4);
    const pairs = [channelPair(), channelPair(), channelPair(), channelPair()];
    for (const p of pairs) h.serve(p.channel, OPEN);
    await settle();
    assert.equal(h.open, 4);
    const fifth = channelPair();
    h.serve(fifth.channel, OPEN);
    await fifth.ended;
    const last = fifth.frames.at(-1);
    assert.equal(last?.type, 'error');
    assert.equal(last?.type === 'error' && last.error.code, 'RATE_LIMIT_EXCEEDED');
    assert.equal(ptys.length, 4);
    pairs[0]?.channel.destroy();
    await settle();
    assert.equal(ptys[0]?.killed, 'SIGKILL');
    assert.deepEqual(groupsKilled, [ptys[0]?.pid]);
    assert.equal(h.open, 3);
    h.close();
    assert.ok(ptys.every((p) => p.killed === 'SIGKILL'));
  });

  test('without the addon the terminal is refused with a typed error', async () => {
    const h = new PtyHost({
      spawn: async () => undefined,
      shell: '/bin/sh',
      cwd: '/',
      env: {},
      killGroup: () => assert.fail('nothing to kill'),
      log: createLogger('silent'),
    });
    const c = channelPair();
    h.serve(c.channel, OPEN);
    await c.ended;
    const f = c.frames[0];
    assert.equal(f?.type === 'error' && f.error.code, 'METHOD_NOT_FOUND');
  });
});
