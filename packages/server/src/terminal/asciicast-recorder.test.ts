import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AsciicastRecorder } from './asciicast-recorder.ts';

const dir = mkdtempSync(join(tmpdir(), 'reach-asciicast-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('AsciicastRecorder', () => {
  test('writes a v2 header, output and resize events with times since the start', async () => {
    const file = join(dir, 'c1', 'one.cast');
    const rec = await AsciicastRecorder.create(
      file,
      {
        width: 80,
        height: 24,
        timestamp: 1_700_000_000,
        env: { TERM: 'xterm-256color', SHELL: '/bin/sh' },
        reach_caller: 'key:abc',
      },
      1000,
    );
    const euro = Buffer.from('€ ok\r\n');
    // The euro sign's three bytes arrive split over two chunks.
    rec.output(euro.subarray(0, 2), 1500);
    rec.output(euro.subarray(2), 1750);
    rec.resize(120, 40, 2000);
    await rec.close(2500);
    const lines = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(lines[0], {
      version: 2,
      width: 80,
      height: 24,
      timestamp: 1_700_000_000,
      env: { TERM: 'xterm-256color', SHELL: '/bin/sh' },
      reach_caller: 'key:abc',
    });
    assert.deepEqual(lines.slice(1), [
      [0.75, 'o', '€ ok\r\n'],
      [1, 'r', '120x40'],
    ]);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(rec.bytes, statSync(file).size);
  });

  test('past the size cap: one marker event, nothing more recorded, the file stays under the cap', async () => {
    const file = join(dir, 'c3', 'capped.cast');
    const header = {
      width: 80,
      height: 24,
      timestamp: 1_700_000_000,
      env: { TERM: 'xterm-256color', SHELL: '/bin/sh' },
      reach_caller: 'key:abc',
    };
    const cap = 4096;
    const rec = await AsciicastRecorder.create(file, header, 0, cap);
    const chunk = Buffer.from(`${'y\r\n'.repeat(100)}`);
    for (let i = 0; i < 100; i++) rec.output(chunk, i);
    rec.resize(100, 30, 200);
    await rec.close(300);
    assert.equal(rec.truncated, true);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1) ?? '') as [number, string, string];
    assert.equal(last[1], 'm');
    assert.match(last[2], /recording stopped at 4096 bytes/);
    assert.equal(lines.filter((l) => l.includes('"m"')).length, 1);
    // Only the marker may pass the cap, by its own length.
    assert.ok(statSync(file).size <= cap + 120, `size ${statSync(file).size}`);
    assert.equal(rec.bytes, statSync(file).size);
  });

  test('never overwrites an existing recording', async () => {
    const file = join(dir, 'c1', 'two.cast');
    const header = { width: 1, height: 1, timestamp: 0, env: { TERM: 't', SHELL: 's' }, reach_caller: 'x' };
    await (await AsciicastRecorder.create(file, header)).close();
    await assert.rejects(AsciicastRecorder.create(file, header), /EEXIST/);
  });
});
