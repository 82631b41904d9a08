import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { isDead, waitFor } from '../../test/helpers/rpc-context.ts';
import { createLogger } from '../log/logger.ts';
import { GroupWatchdog } from './group-watchdog.ts';

const log = createLogger('silent');

describe('GroupWatchdog (a real watchdog process)', () => {
  const children: ChildProcess[] = [];
  const detachedSleep = (script = 'sleep 30') => {
    const child = spawn('/bin/sh', ['-c', `${script}; true`], { detached: true, stdio: 'ignore' });
    children.push(child);
    return child.pid ?? 0;
  };
  after(() => {
    for (const c of children) {
      try {
        process.kill(-(c.pid ?? 0), 'SIGKILL');
      } catch {}
    }
  });

  test('closing its pipe kills the groups it holds, not the ones removed, and it exits', async () => {
    const dog = new GroupWatchdog({ log });
    dog.start();
    const held = detachedSleep();
    const removed = detachedSleep();
    const ignoresTerm = detachedSleep("trap '' TERM; sleep 30");
    dog.add(held);
    dog.add(removed);
    dog.add(ignoresTerm);
    dog.remove(removed);
    const dogPid = dog.pid ?? 0;
    assert.ok(dogPid > 0);
    // The lines reach the watchdog before the pipe closes: same pipe, in order.
    dog.close();
    assert.ok(await waitFor(async () => (await isDead(held)) && (await isDead(ignoresTerm)), 5000));
    assert.ok(await waitFor(() => isDead(dogPid)));
    assert.equal(await isDead(removed), false);
  });

  test('the watchdog survives SIGINT/SIGHUP and still kills on close', async () => {
    const dog = new GroupWatchdog({ log });
    dog.start();
    const held = detachedSleep();
    dog.add(held);
    const dogPid = dog.pid ?? 0;
    await new Promise((r) => setTimeout(r, 100));
    process.kill(dogPid, 'SIGINT');
    process.kill(dogPid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await isDead(dogPid), false);
    assert.equal(await isDead(held), false);
    dog.close();
    assert.ok(await waitFor(() => isDead(held)));
  });
});
