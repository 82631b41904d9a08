import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeFrame, FrameDecoder } from './framing.ts';

describe('FrameDecoder', () => {
  test('decodes frames split across arbitrary chunk boundaries', () => {
    const a = encodeFrame({ a: 1 });
    const b = encodeFrame({ b: 'ü'.repeat(1000) });
    const all = new Uint8Array([...a, ...b]);
    const decoder = new FrameDecoder();
    const out = [];
    for (let i = 0; i < all.length; i += 7) out.push(...decoder.push(all.subarray(i, i + 7)));
    assert.deepEqual(
      out.map((f) => (f.ok ? f.value : null)),
      [{ a: 1 }, { b: 'ü'.repeat(1000) }],
    );
  });

  test('refuses an oversized length prefix before any body arrives', () => {
    const decoder = new FrameDecoder(1024);
    const header = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    const [frame] = decoder.push(header);
    assert.ok(frame && !frame.ok);
    assert.equal(frame.error.code, 'FRAME_TOO_LARGE');
    assert.deepEqual(decoder.push(new Uint8Array(10_000)), [], 'input after a refused frame is ignored');
  });

  test('reports garbage JSON and carries on with the next frame', () => {
    const decoder = new FrameDecoder();
    const junk = new TextEncoder().encode('{nope');
    const frame = new Uint8Array(4 + junk.length);
    new DataView(frame.buffer).setUint32(0, junk.length);
    frame.set(junk, 4);
    const out = decoder.push(new Uint8Array([...frame, ...encodeFrame([1])]));
    assert.equal(out.length, 2);
    assert.ok(out[0] && !out[0].ok && out[0].error.code === 'PARSE_ERROR');
    assert.ok(out[1]?.ok);
  });

  test('encodeFrame refuses a message over the limit', () => {
    assert.throws(() => encodeFrame('x'.repeat(100), 50), { code: 'FRAME_TOO_LARGE' });
  });
});
