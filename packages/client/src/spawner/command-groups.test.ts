import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../test/helpers/rpc-context.ts';
import { createLogger } from '../log/logger.ts';
import { CommandGroups } from './command-groups.ts';
import { GroupLedger } from './group-ledger.ts';
import type { GroupWatchdog } from './group-watchdog.ts';

const log = createLogger('silent');

/** What the watchdog was told, in order (the real one is a shell: group-watchdog.test.ts). */
function recordingWatchdog() {
  const lines: string[] = [];
  const dog = {
    start() {},
    close() {},
    add: (pgid: number) => lines.push(`+ ${pgid}`),
    remove: (pgid: number) => lines.push(`- ${pgid}`),
  };
  return { dog: dog as unknown as GroupWatchdog, lines };
}

describe('CommandGroups holds (real ledger on disk)', () => {
  let dir = '';
  const sleepers: number[] = [];
  const sleeper = () => {
    const c = spawn('/bin/sh', ['-c', 'sleep 30'], { detached: true, stdio: 'ignore' });
    sleepers.push(c.pid ?? 0);
    return c.pid ?? 0;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-groups-'));
  });
  after(async () => {
    for (const p of sleepers) {
      try {
        process.kill(-p, 'SIGKILL');
      } catch {}
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('a claim moved to another leader (a pooled shell replaced by a plain spawn) follows it', async () => {
    const { dog, lines } = recordingWatchdog();
    const ledgerDir = join(dir, 'moved');
    const groups = new CommandGroups({
      watchdog: dog,
      ledger: new GroupLedger({ dir: ledgerDir, log }),
      log,
    });
    const hold = groups.hold();
    const first = sleeper();
    const second = sleeper();
    hold.spawned(first);
    hold.spawned(first);
    hold.spawned(second);
    assert.deepEqual(lines, [`+ ${first}`, `- ${first}`, `+ ${second}`]);
    const entries = () => readdir(ledgerDir).catch(() => [] as string[]);
    assert.ok(await waitFor(async () => (await entries()).join() === `${second}.json`));
    hold.release();
    hold.spawned(first);
    assert.deepEqual(lines.slice(3), [`- ${second}`]);
    assert.ok(await waitFor(async () => (await entries()).length === 0));
  });
});
