/**
 * The fault campaign of issue #20, a deterministic subset: 3 faults of each of write_file,
 * upload_file, download_file and run_command × a SIGKILLed client or server (24 faults, seed 20),
 * and one kill of each file operation's renamer at its rename, against a real server and client process on loopback. After every fault: the destination is
 * the old or the new content, nothing stray is left, the in-flight call ended within 2 s of the
 * kill, a killed client's command died within 2 s and never made its marker, operation_status
 * says applied iff the destination is new, and the server's SQLite passes integrity_check.
 * `npm run bench:faults` runs the whole campaign with figures.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FaultCampaign } from '../../../../test-support/fault-campaign/fault-campaign.ts';
import { FAULT_OPS, planFaults, VICTIMS } from '../../../../test-support/fault-campaign/fault-plan.ts';
import {
  CHECK_KINDS,
  describe as describeFault,
  type FaultRecord,
} from '../../../../test-support/fault-campaign/fault-record.ts';
import { summarize } from '../../../../test-support/fault-campaign/fault-summary.ts';

const SEED = 20;
// 24 seeded faults, then 3 that kill the renamer of write_file, upload_file and download_file the
// instant the destination is renamed into place (before its outcome is recorded).
const PLAN = planFaults(SEED, FAULT_OPS.length * VICTIMS.length * 3, 1);

describe('fault campaign: 27 SIGKILLs of the client or the server mid-mutation', () => {
  let root = '';
  let campaign: FaultCampaign | undefined;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reach-fault-campaign-'));
    // 32 MiB transfers take a few hundred ms here: long enough to be cut mid-way, short to hash.
    campaign = new FaultCampaign({ root, sizes: { transferBytes: 32 * 1024 * 1024 }, commandWindowMs: 2000 });
    await campaign.start();
  });
  after(async () => {
    await campaign?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('every check holds after every fault', async () => {
    const c = campaign;
    assert.ok(c);
    // Stops at the first fault that fails a check, with what was seen.
    for (const plan of PLAN) {
      const r = await c.run(plan);
      assert.deepEqual(
        r.failures,
        [],
        `fault #${r.index} (${r.op}, ${r.victim} killed)\n${describeFault(r)}`,
      );
    }
    await c.finish();
    const report = summarize(c.records).join('\n');
    for (const r of c.records) {
      assert.deepEqual(r.failures, [], `fault #${r.index} (${r.op}, ${r.victim} killed)\n${report}`);
    }
    // Every kind of check ran, and the faults did cut calls mid-way on both victims.
    for (const kind of CHECK_KINDS) {
      assert.ok(
        c.records.some((r) => r.checks[kind] === 'pass'),
        `${kind} was checked\n${report}`,
      );
    }
    // The rename-moment kills land after the new content did (so their status must be applied).
    const atRename = c.records.filter((r) => r.atRename);
    assert.equal(atRename.length, 3);
    for (const r of atRename) assert.equal(r.destination, 'new', `#${r.index} killed at its rename`);
    for (const victim of VICTIMS) {
      assert.ok(
        c.records.some((r) => r.victim === victim && r.inFlight),
        `a ${victim} kill caught a call in flight`,
      );
    }
    for (const op of FAULT_OPS) {
      for (const victim of VICTIMS) {
        const seeded: readonly FaultRecord[] = c.records.filter(
          (r) => r.op === op && r.victim === victim && !r.atRename,
        );
        assert.equal(seeded.length, 3, `${op} × ${victim}`);
      }
    }
  });
});
