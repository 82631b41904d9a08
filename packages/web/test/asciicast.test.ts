// The replay's parsing and timing (src/lib/terminal/asciicast.ts), run by node. The recording
// used here is one the server's own AsciicastRecorder writes, so the two sides agree on the format.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AsciicastRecorder } from '../../server/src/terminal/asciicast-recorder.ts';
import { CastError, eventAt, parseCast, parseSize, playbackTimes } from '../src/lib/terminal/asciicast.ts';

test('a recording the server wrote parses back: header, output split mid-character, resize', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reach-cast-'));
  try {
    const file = join(dir, 'r.cast');
    const rec = await AsciicastRecorder.create(
      file,
      {
        width: 80,
        height: 24,
        timestamp: 1_700_000_000,
        env: { TERM: 'xterm-256color', SHELL: '/bin/sh' },
        reach_caller: 'web:alice',
      },
      0,
    );
    const euro = Buffer.from('€', 'utf8');
    rec.output(Buffer.from('$ echo hi\r\nhi\r\n'), 100);
    rec.output(euro.subarray(0, 1), 1_500);
    rec.output(euro.subarray(1), 1_600);
    rec.resize(100, 30, 2_000);
    await rec.close(2_500);
    const cast = parseCast(await readFile(file, 'utf8'));
    assert.deepEqual(cast.header, { width: 80, height: 24, timestamp: 1_700_000_000, caller: 'web:alice' });
    assert.equal(cast.skipped, 0);
    assert.deepEqual(
      cast.events.map((e) => [e.t, e.code, e.data]),
      [
        [0.1, 'o', '$ echo hi\r\nhi\r\n'],
        [1.6, 'o', '€'],
        [2, 'r', '100x30'],
      ],
    );
    assert.equal(cast.duration, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bad header is refused; a damaged or cut-off event line is skipped and counted', () => {
  assert.throws(() => parseCast('garbage\n'), CastError);
  assert.throws(() => parseCast('{"version":1,"width":80,"height":24}\n'), /v2/);
  assert.throws(() => parseCast('{"version":2,"width":0,"height":24}\n'), /width and height/);
  const cast = parseCast(
    [
      '{"version":2,"width":80,"height":24}',
      '[0.5,"o","a"]',
      '[0.4,"o","b"]',
      '{"not":"an event"}',
      '[1,"o",42]',
      '[2.0,"o","c',
    ].join('\n'),
  );
  assert.equal(cast.skipped, 3);
  // A time that goes backwards is clamped, so playback stays in order.
  assert.deepEqual(
    cast.events.map((e) => [e.t, e.data]),
    [
      [0.5, 'a'],
      [0.5, 'b'],
    ],
  );
  assert.equal(cast.header.caller, null);
});

test('long pauses are cut to the idle limit; eventAt finds what is due', () => {
  const events = [0.5, 1, 61, 61.2, 300].map((t) => ({ t, code: 'o', data: '' }));
  const round = (xs: number[]) => xs.map((x) => Math.round(x * 1e6) / 1e6);
  assert.deepEqual(round(playbackTimes(events, 2)), [0.5, 1, 3, 3.2, 5.2]);
  assert.deepEqual(playbackTimes(events, 0), [0.5, 1, 61, 61.2, 300]);
  const times = playbackTimes(events, 2);
  assert.equal(eventAt(times, 0), 0);
  assert.equal(eventAt(times, 0.5), 1);
  assert.equal(eventAt(times, 3.1), 3);
  assert.equal(eventAt(times, 99), 5);
  assert.deepEqual(parseSize('132x43'), { cols: 132, rows: 43 });
  assert.equal(parseSize('0x43'), null);
  assert.equal(parseSize('132 x 43'), null);
});
