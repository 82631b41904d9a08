import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { readApiKeyFile } from './api-key-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'reach-api-key-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, text: string, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

test('one key a line; blank lines and # comments are skipped', async () => {
  const path = keyFile('ok', '# ops\nkey-one-5f2a\n\n  key-two-9c1b  \r\n# end\n', 0o600);
  assert.deepEqual(await readApiKeyFile(path), ['key-one-5f2a', 'key-two-9c1b']);
  assert.deepEqual(await readApiKeyFile(keyFile('ro', 'k\n', 0o400)), ['k']);
});

test('a file group or others may read or write is refused, naming the mode and the fix', async () => {
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602]) {
    const path = keyFile(`open-${mode.toString(8)}`, 'k\n', mode);
    await assert.rejects(readApiKeyFile(path), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, /accessible by group or others/);
      assert.match(err.message, new RegExp(`mode 0${mode.toString(8)}`));
      assert.match(err.message, /chmod 600/);
      return true;
    });
  }
  // Windows has no mode bits to check.
  assert.deepEqual(await readApiKeyFile(keyFile('win', 'k\n', 0o644), 'win32'), ['k']);
});

test('missing, empty, oversized and mangled files are INVALID_ARGUMENT naming the file', async () => {
  const cases: [string, RegExp][] = [
    [join(dir, 'absent'), /cannot open \(ENOENT\)/],
    [keyFile('empty', '# nothing\n\n', 0o600), /holds no key/],
    [keyFile('two-words', 'Bearer abc\n', 0o600), /line 1 holds more than one word/],
    [keyFile('huge', 'k'.repeat(70_000), 0o600), /at most 65536/],
    [dir, /not a regular file/],
  ];
  for (const [path, message] of cases) {
    await assert.rejects(readApiKeyFile(path), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.ok(err.message.startsWith(`--api-key-file ${path}:`), err.message);
      assert.match(err.message, message);
      return true;
    });
  }
});

test('reach-server refuses to start on an open key file with one clear line; --help warns about --api-key', () => {
  const bin = resolve(import.meta.dirname, '../bin.ts');
  const path = keyFile('served', 'served-key-3e7d\n', 0o644);
  const r = spawnSync(
    process.execPath,
    [
      bin,
      '--transport',
      'http',
      '--port',
      '0',
      '--ssh-port',
      '0',
      '--ssh-host',
      '127.0.0.1',
      '--data-dir',
      join(dir, 'data'),
    ],
    { env: { ...process.env, REACH_API_KEY_FILE: path }, encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /reach-server: --api-key-file .*served: is accessible by group or others \(mode 0644\); run: chmod 600/,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a user error, not a stack');
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.match(help.stdout, /--api-key-file FILE/);
  assert.match(help.stdout, /--api-key KEY .*visible to other users/);
});
