import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { waitFor } from '../../test/helpers/rpc-context.ts';
import { createLogger } from '../log/logger.ts';
import { readUpdateState, type UpdateState, writeUpdateState } from './update-state.ts';
import { superviseRestart } from './update-supervisor.ts';

/** The old version, restored by a rollback: it notes that it was started again. */
const OLD = '#!/bin/sh\necho $$ > "$DIR/old-started"\n';

describe('superviseRestart (the old process watching the new one)', {
  skip: process.platform === 'win32',
}, () => {
  let dir = '';
  let exe = '';
  const state: UpdateState = {
    from: '1.0.0',
    to: '2.0.0',
    started_at: '2026-12-03T07:00:00.000Z',
    state: 'applied',
  };
  const supervise = (healthWindowMs: number) =>
    superviseRestart({
      dir: join(dir, 'update'),
      exe,
      args: [],
      env: { PATH: process.env.PATH, DIR: dir },
      state,
      healthWindowMs,
      systemd: false,
      log: createLogger('silent'),
    });
  /** Swaps `body` in as the new executable, the old one kept as .prev (what swapExecutable leaves). */
  const installNew = async (body: string) => {
    await writeFile(`${exe}.prev`, OLD, { mode: 0o755 });
    await writeFile(exe, body);
    await chmod(exe, 0o755);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-supervise-'));
    exe = join(dir, 'reach');
    await mkdir(join(dir, 'update'));
    await writeUpdateState(join(dir, 'update'), state);
  });
  afterEach(async () => {
    for (const f of ['new-pid', 'old-started']) {
      const pid = Number(await readFile(join(dir, f), 'utf8').catch(() => ''));
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('a new version that marks itself healthy is left running; nothing is restored', async () => {
    const healthy = JSON.stringify({ ...state, state: 'healthy' });
    await installNew(
      `#!/bin/sh\necho $$ > "$DIR/new-pid"\nprintf '%s' '${healthy}' > "$DIR/update/update.json"\nexec sleep 30\n`,
    );
    assert.equal(await supervise(30_000), 0);
    assert.equal((await readUpdateState(join(dir, 'update')))?.state, 'healthy');
    assert.match(await readFile(exe, 'utf8'), /sleep 30/);
    assert.equal(existsSync(join(dir, 'old-started')), false);
  });

  test('a new version that never becomes healthy is killed at the end of the window and rolled back', async () => {
    await installNew('#!/bin/sh\necho $$ > "$DIR/new-pid"\necho "B: waiting forever"\nexec sleep 30\n');
    assert.equal(await supervise(500), 0);
    const after = await readUpdateState(join(dir, 'update'));
    assert.equal(after?.state, 'rolled_back');
    assert.equal(after?.reason, 'not healthy within 1 s');
    assert.match(after?.log_tail ?? '', /B: waiting forever/);
    assert.equal(await readFile(exe, 'utf8'), OLD);
    assert.equal(existsSync(`${exe}.prev`), false);
    assert.ok(
      await waitFor(async () => existsSync(join(dir, 'old-started')), 5000),
      'the old version was started again',
    );
    const pid = Number(await readFile(join(dir, 'new-pid'), 'utf8'));
    assert.ok(
      await waitFor(async () => {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
        return stat === '' || stat.split(' ')[2] === 'Z';
      }, 5000),
      'the new version was killed',
    );
  });
});
