import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { POSIX_PLATFORM, windowsPlatform } from './platform.ts';
import { CMD_MAX_CHARS } from './shell.ts';

describe('shell selection', () => {
  const win = windowsPlatform({ user: 'me' });

  test('POSIX: /bin/sh -c in a group of its own; a Windows shell is refused', () => {
    assert.deepEqual(POSIX_PLATFORM.shell('echo hi', undefined, {}), {
      file: '/bin/sh',
      args: ['-c', 'echo hi'],
      detached: true,
      windowsVerbatimArguments: false,
    });
    assert.throws(() => POSIX_PLATFORM.shell('dir', 'cmd', {}), { code: 'INVALID_ARGUMENT' });
  });

  test('Windows: cmd.exe from ComSpec, /d /s /c with the command quoted once, verbatim', () => {
    const s = win.shell('echo "a b" & ver', undefined, { ComSpec: 'C:\\Windows\\system32\\cmd.exe' });
    assert.deepEqual(s, {
      file: 'C:\\Windows\\system32\\cmd.exe',
      args: ['/d', '/s', '/c', '"echo "a b" & ver"'],
      detached: false,
      windowsVerbatimArguments: true,
    });
    assert.equal(win.shell('ver', 'cmd', {}).file, 'cmd.exe');
  });

  test('Windows: PowerShell gets the command base64 UTF-16LE, so no quoting can change it', () => {
    const cmd = `Write-Output "it's $env:USERNAME" | % { $_ }`;
    const s = win.shell(cmd, 'powershell', {});
    assert.equal(s.file, 'powershell.exe');
    assert.deepEqual(s.args.slice(0, 4), ['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand']);
    assert.equal(Buffer.from(s.args[4] ?? '', 'base64').toString('utf16le'), cmd);
    assert.equal(s.windowsVerbatimArguments, false);
  });

  test("each shell's command-line limit is enforced before anything starts", () => {
    assert.doesNotThrow(() => win.shell('x'.repeat(CMD_MAX_CHARS), 'cmd', {}));
    assert.throws(() => win.shell('x'.repeat(CMD_MAX_CHARS + 1), 'cmd', {}), { code: 'INVALID_ARGUMENT' });
    assert.doesNotThrow(() => win.shell('x'.repeat(10_000), 'powershell', {}));
    assert.throws(() => win.shell('x'.repeat(12_001), 'powershell', {}), { code: 'INVALID_ARGUMENT' });
  });
});
