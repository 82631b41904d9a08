import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ownerOnlyCommand } from './owner-only.ts';
import { windowsPlatform } from './platform.ts';
import type { Argv } from './process-tree.ts';

describe('key file ACL', () => {
  test('icacls drops inheritance and grants the user alone, as an argument vector', () => {
    assert.deepEqual(ownerOnlyCommand('C:\\Users\\me\\.reach\\id_ed25519', 'HOST\\me', 'file'), {
      file: 'icacls.exe',
      args: ['C:\\Users\\me\\.reach\\id_ed25519', '/inheritance:r', '/grant:r', 'HOST\\me:F'],
    });
    assert.deepEqual(ownerOnlyCommand('C:\\Users\\me\\.reach', 'me', 'dir').args.slice(1), [
      '/inheritance:r',
      '/grant:r',
      'me:(OI)(CI)F',
    ]);
  });

  test('the Windows platform runs it; a failure is PERMISSION_DENIED with the hint', async () => {
    const ran: Argv[] = [];
    const ok = windowsPlatform({ user: 'me', runAcl: async (a) => void ran.push(a) });
    await ok.restrictToOwner('C:\\k "x"', 'file');
    assert.deepEqual(ran, [
      { file: 'icacls.exe', args: ['C:\\k "x"', '/inheritance:r', '/grant:r', 'me:F'] },
    ]);
    const failing = windowsPlatform({
      user: 'me',
      runAcl: async () => {
        throw Object.assign(new Error('exit 5'), { stderr: 'Access is denied.' });
      },
    });
    await assert.rejects(failing.restrictToOwner('C:\\k', 'file'), (err: unknown) => {
      const e = err as { code: string; details: { stderr: string }; recoveryHint: string };
      assert.equal(e.code, 'PERMISSION_DENIED');
      assert.equal(e.details.stderr, 'Access is denied.');
      assert.match(e.recoveryHint, /icacls "C:\\k" \/inheritance:r/);
      return true;
    });
  });
});
