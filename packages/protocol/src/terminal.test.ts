import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReachError } from './errors.ts';
import { encodeTerminalFrame, TERMINAL, type TerminalFrame, TerminalFrameDecoder } from './terminal.ts';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

describe('terminal frame codec', () => {
  test('every frame type round-trips, fed one byte at a time', () => {
    const frames: TerminalFrame[] = [
      { type: 'data', data: new TextEncoder().encode('echo hello\r') },
      { type: 'resize', cols: 120, rows: 40 },
      { type: 'ready', pid: 4242, shell: '/bin/sh' },
      { type: 'exit', code: 3, signal: null },
      { type: 'exit', code: null, signal: 'SIGKILL' },
    ];
    const wire = concat(frames.map(encodeTerminalFrame));
    const decoder = new TerminalFrameDecoder();
    const got: TerminalFrame[] = [];
    for (let i = 0; i < wire.byteLength; i++) got.push(...decoder.push(wire.subarray(i, i + 1)));
    assert.equal(got.length, frames.length);
    assert.deepEqual(Buffer.from((got[0] as { data: Uint8Array }).data).toString(), 'echo hello\r');
    assert.deepEqual(got.slice(1), frames.slice(1));
  });

  test('an error frame carries the typed error', () => {
    const err = new ReachError('RATE_LIMIT_EXCEEDED', 'too many terminals', { details: { limit: 4 } });
    const [got] = new TerminalFrameDecoder().push(encodeTerminalFrame({ type: 'error', error: err }));
    assert.equal(got?.type, 'error');
    const e = (got as { error: ReachError }).error;
    assert.ok(e instanceof ReachError);
    assert.equal(e.code, 'RATE_LIMIT_EXCEEDED');
    assert.deepEqual(e.details, { limit: 4 });
  });

  test('data over the payload limit is split into frames the reader accepts', () => {
    const big = new Uint8Array(TERMINAL.maxPayloadBytes * 2 + 10).fill(7);
    const got = new TerminalFrameDecoder().push(encodeTerminalFrame({ type: 'data', data: big }));
    assert.equal(got.length, 3);
    assert.equal(
      got.reduce((n, f) => n + (f.type === 'data' ? f.data.byteLength : 0), 0),
      big.byteLength,
    );
  });

  test('an oversized length, an unknown type and a bad control body are refused', () => {
    const oversized = new Uint8Array(5);
    new DataView(oversized.buffer).setUint8(0, 1);
    new DataView(oversized.buffer).setUint32(1, TERMINAL.maxPayloadBytes + 1);
    assert.throws(() => new TerminalFrameDecoder().push(oversized), /over the limit/);
    const unknown = new Uint8Array([9, 0, 0, 0, 0]);
    assert.throws(() => new TerminalFrameDecoder().push(unknown), /unknown frame type 9/);
    const badResize = encodeTerminalFrame({ type: 'resize', cols: 0, rows: 24 });
    assert.throws(
      () => new TerminalFrameDecoder().push(badResize),
      (e: unknown) => {
        return e instanceof ReachError && e.code === 'CONNECTION_ERROR';
      },
    );
  });
});
