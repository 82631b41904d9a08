import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rpcContext } from '../../../test/helpers/rpc-context.ts';
import { useSwapFixture } from '../../../test/helpers/swap-fixture.ts';
import { createLogger } from '../../log/logger.ts';
import { poolableShell, ShellPool } from '../../spawner/shell-pool.ts';
import { openCwd, type RunCommandDeps, runChecked } from './run-command.ts';
import { runShell } from './run-shell.ts';

const hasProc = existsSync('/proc/self/fd');

/**
 * run_command's cwd against the check-then-use race, run deterministically: check the cwd, swap a
 * component for a symlink leading outside the allowed root, then run the step after the check. The
 * command (`touch marker`) must not run anywhere: no marker appears outside or in the moved dir.
 */
// Twice: plain spawns, and pooled shells (whose `cd` follows the same descriptor link).
for (const pooled of poolableShell('/bin/sh') ? [false, true] : [false])
  describe(`run_command cwd against a symlink swapped in after the check (${pooled ? 'pooled shells' : 'plain spawn'})`, () => {
    const fx = useSwapFixture('reach-cwd-swap-');
    const baseEnv = { PATH: process.env.PATH };
    const log = createLogger('silent');
    const pool = pooled ? new ShellPool({ env: baseEnv, log, refillQuietMs: 0 }) : undefined;
    let deps: RunCommandDeps;
    const run = (cmd: string, cwd: string, resolved: string, d: RunCommandDeps = deps) =>
      runChecked(d, { cmd, cwd, timeout: 10 }, resolved, rpcContext('run_command'));

    before(() => {
      pool?.start();
      deps = { policy: fx.policy, log, baseEnv, defaultCwd: fx.root, pool };
    });
    after(() => pool?.close());

    test('unswapped: the command runs in the directory (pwd -P is its real path)', async () => {
      const r = await run('pwd -P; touch marker', fx.dir, await fx.policy.check(fx.dir));
      assert.equal(r.stdout, `${fx.dir}\n`);
      assert.equal(r.returncode, 0);
      assert.deepEqual(await readdir(fx.dir), ['marker']);
    });

    test('the cwd swapped for a symlink after the check: PATH_DENIED, nothing runs', async () => {
      const resolved = await fx.policy.check(fx.dir);
      await fx.swapDir();
      await assert.rejects(run('touch marker', fx.dir, resolved), {
        code: 'PATH_DENIED',
        message: /symbolic link appeared/,
      });
      assert.deepEqual(await readdir(fx.outside), []);
      assert.deepEqual(await readdir(`${fx.dir}-moved`), []);
    });

    test('a parent of the cwd swapped for a symlink after the check: PATH_DENIED, nothing runs', async () => {
      await mkdir(join(fx.outside, 'dir'));
      const resolved = await fx.policy.check(fx.dir);
      const parent = join(fx.dir, '..');
      await fx.swapDir(parent);
      await assert.rejects(run('touch marker', fx.dir, resolved), {
        code: 'PATH_DENIED',
        message: /outside the allowed paths/,
      });
      assert.deepEqual(await readdir(join(fx.outside, 'dir')), []);
      assert.deepEqual(await readdir(join(`${parent}-moved`, 'dir')), []);
    });

    test('swapped after the confirm, before the spawn: the child still starts in the confirmed directory', {
      skip: hasProc ? false : 'no /proc/self/fd',
    }, async () => {
      const opened = await openCwd(fx.policy, fx.dir, await fx.policy.check(fx.dir), true);
      try {
        assert.equal(opened.spawnCwd, `/proc/${process.pid}/fd/${opened.fh.fd}`);
        await fx.swapDir();
        const r = await runShell('pwd -P; touch marker', {
          cwd: opened.spawnCwd,
          env: baseEnv,
          pool,
          timeoutMs: 10_000,
          signal: new AbortController().signal,
          maxOutputBytes: 4096,
          killGraceMs: 200,
          drainMs: 200,
        });
        assert.equal(r.result.stdout, `${fx.dir}-moved\n`);
        assert.deepEqual(await readdir(fx.outside), []);
        assert.deepEqual(await readdir(`${fx.dir}-moved`), ['marker']);
      } finally {
        await opened.fh.close();
      }
    });

    test('the cwd descriptor is closed after the run and not inherited by the command', {
      skip: hasProc ? false : 'no /proc/self/fd',
    }, async () => {
      const before = (await readdir('/proc/self/fd')).length;
      // What each of the shell's descriptors names: the cwd's descriptor is close-on-exec.
      const r = await run(
        'for f in /proc/$$/fd/*; do readlink "$f"; done',
        fx.dir,
        await fx.policy.check(fx.dir),
      );
      // stdin is /dev/null; stdout and stderr are pipes or socketpairs, depending on the libuv build.
      const names = r.stdout.split('\n').filter(Boolean);
      assert.ok(names.includes('/dev/null'), r.stdout);
      assert.ok(names.filter((n) => /^(pipe|socket):/.test(n)).length >= 2, r.stdout);
      assert.ok(!names.includes(fx.dir), r.stdout);
      assert.equal((await readdir('/proc/self/fd')).length, before);
    });

    test('without procfs the child starts in the checked name (the confirm re-checked it)', async () => {
      const opened = await openCwd(fx.policy, fx.dir, await fx.policy.check(fx.dir), false);
      await opened.fh.close();
      assert.equal(opened.spawnCwd, fx.dir);
      const r = await run('pwd -P', fx.dir, await fx.policy.check(fx.dir), { ...deps, procFd: false });
      assert.equal(r.stdout, `${fx.dir}\n`);
    });

    test('not a directory stays INVALID_ARGUMENT, missing stays FILE_NOT_FOUND', async () => {
      await assert.rejects(run('true', `${fx.dir}/nope`, await fx.policy.check(`${fx.dir}/nope`)), {
        code: 'FILE_NOT_FOUND',
      });
      const file = join(fx.dir, 'file');
      await writeFile(file, 'x');
      await assert.rejects(run('true', file, await fx.policy.check(file)), {
        code: 'INVALID_ARGUMENT',
        message: /cwd is not a directory/,
      });
    });

    if (pool) {
      test('these runs went through the pool', () => {
        assert.ok(pool.stats.served >= 3, `served ${pool.stats.served}`);
      });
    }
  });
