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
