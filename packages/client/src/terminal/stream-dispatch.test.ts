import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { encodeFrame, type TerminalOpen } from '@reach/protocol';
import { createStreamDispatcher } from './stream-dispatch.ts';

describe('createStreamDispatcher', () => {
  test('a terminal open goes to the terminal route, with the bytes after it still readable', async () => {
    const got = new Promise<{ open: TerminalOpen; rest: string }>((resolve) => {
      const dispatch = createStreamDispatcher({
        transfer: () => assert.fail('not a transfer'),
        terminal: (ch, open) => ch.once('data', (d: Buffer) => resolve({ open, rest: d.toString() })),
      });
      const ch = new PassThrough();
      dispatch(ch);
      const open = Buffer.from(encodeFrame({ op: 'terminal', v: 1, cols: 90, rows: 30 }));
      // Split mid-header, the trailing bytes in the same chunk as the frame's end.
      ch.write(open.subarray(0, 2));
      ch.write(Buffer.concat([open.subarray(2), Buffer.from('after')]));
    });
    const { open, rest } = await got;
    assert.deepEqual(open, { op: 'terminal', v: 1, cols: 90, rows: 30 });
    assert.equal(rest, 'after');
  });

  test('anything else goes to the transfer route with its first frame unread', async () => {
    const frame = Buffer.from(encodeFrame({ op: 'get', v: 1, id: 'x', path: '/tmp/x' }));
    const got = new Promise<Buffer>((resolve) => {
      const dispatch = createStreamDispatcher({
        transfer: (ch) => ch.once('data', (d: Buffer) => resolve(d)),
        terminal: () => assert.fail('not a terminal'),
      });
      const ch = new PassThrough();
      dispatch(ch);
      ch.write(frame);
    });
    assert.deepEqual(await got, frame);
  });
});
