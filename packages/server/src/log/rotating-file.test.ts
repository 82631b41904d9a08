import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RotatingFile } from './rotating-file.ts';

test('rotates by size and keeps at most maxFiles old files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reach-rotate-'));
  try {
    const path = join(dir, 'server.log');
    const file = new RotatingFile(path, { maxBytes: 100, maxFiles: 2 });
    const line = `${'x'.repeat(39)}\n`; // 40 bytes: two fit, the third rotates
    for (let i = 0; i < 9; i++) file.write(line);
    file.close();
    assert.equal(readFileSync(path, 'utf8'), line);
    assert.equal(readFileSync(`${path}.1`, 'utf8'), line.repeat(2));
    assert.equal(readFileSync(`${path}.2`, 'utf8'), line.repeat(2));
    assert.equal(existsSync(`${path}.3`), false, 'older files are dropped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one line longer than the size limit is cut to a short line that says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reach-rotate-'));
  try {
    const path = join(dir, 'server.log');
    const file = new RotatingFile(path, { maxBytes: 4096, maxFiles: 1 });
    const huge = `${JSON.stringify({ msg: 'authentication refused', user: 'u'.repeat(20 * 1024 * 1024) })}\n`;
    file.write(huge);
    file.close();
    const text = readFileSync(path, 'utf8');
    assert.ok(Buffer.byteLength(text) <= 4096, `${Buffer.byteLength(text)} bytes in a 4096-byte file`);
    const record = JSON.parse(text) as { bytes: number; head: string; msg: string };
    assert.equal(record.bytes, Buffer.byteLength(huge));
    assert.ok(record.head.startsWith('{"msg":"authentication refused"'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
