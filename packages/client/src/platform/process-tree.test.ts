import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Argv, treeKillCommand, windowsTreeKill } from './process-tree.ts';

describe('process tree kill', () => {
  test('Windows: taskkill /T /F /PID n as an argument vector, for either step', () => {
    assert.deepEqual(treeKillCommand(4242), { file: 'taskkill.exe', args: ['/T', '/F', '/PID', '4242'] });
    const ran: Argv[] = [];
    const kill = windowsTreeKill((argv) => ran.push(argv));
    kill(7, 'SIGTERM');
    kill(7, 'SIGKILL');
    kill(0, 'SIGKILL');
    kill(Number.NaN, 'SIGKILL');
    assert.deepEqual(
      ran.map((a) => a.args.join(' ')),
      ['/T /F /PID 7', '/T /F /PID 7'],
    );
  });
});
