/**
 * One update into a real single executable (#16): the client starts as a launcher reporting 0.0.1
 * and is updated to the SEA `npm run release -- --only reach-linux-x86_64` builds (~23 s here,
 * 112 MB), which must register reporting package.json's version. Linux x86_64 only (the build
 * targets it); every other case runs with launchers in update-e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { VERSION } from '../src/version.ts';
import { ARTIFACT, launcher, startUpdateHarness, type UpdateHarness } from './helpers/update-harness.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

/** Pids whose /proc/<pid>/exe is `exe` (the test's own temp path: no other process has it). */
async function processesRunning(exe: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const target = await readlink(`/proc/${name}/exe`).catch(() => '');
    if (target === exe) out.push(Number(name));
  }
  return out;
}

describe('update into a real single executable', { skip: ARTIFACT !== 'reach-linux-x86_64' }, () => {
  let h: UpdateHarness;
  let sea: Buffer;
  let outDir = '';

  before(async () => {
    // Its own output directory: a full release build and its tests may be using dist/release.
    outDir = await mkdtemp(join(tmpdir(), 'reach-sea-update-'));
    execFileSync(
      process.execPath,
      [join(REPO, 'scripts/release.ts'), '--only', ARTIFACT, '--out', join(outDir, 'release')],
      {
        stdio: 'ignore',
      },
    );
    sea = await readFile(join(outDir, 'release', ARTIFACT));
    h = await startUpdateHarness(launcher('0.0.1'));
    await h.startClient();
  });
  after(async () => {
    await h?.close();
    await rm(outDir, { recursive: true, force: true });
  });

  test('the launcher-run client updates into the SEA, which registers on its own version', async () => {
    await h.release(VERSION, sea);
    const c = await h.rollout(VERSION);
    assert.equal(c.state, 'healthy', JSON.stringify(c));
    assert.equal(c.from, '0.0.1');
    // The SEA sets no REACH_BUILD_VERSION: the launcher's is not passed on to it.
    assert.equal(await h.runningVersion(), '');
    // The serving agent is the SEA itself: one process whose executable is the updated file.
    const running = await processesRunning(h.exe);
    assert.equal(running.length, 1, `processes running ${h.exe}: ${running}`);
    await appendFile(join(h.home, 'pids'), `${running.join('\n')}\n`);
  });
});
