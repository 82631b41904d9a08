/**
 * `npm run bench:faults -- --faults 100`: the whole fault campaign of issue #20. A real server and
 * client process on loopback; each fault starts write_file, upload_file, download_file or
 * run_command (with an idempotency_key) through the MCP SDK client, SIGKILLs the client or the
 * server at a seeded moment mid-call, restarts it and checks what is left: old-or-new destination
 * by sha256, no stray file, the in-flight call ended within 2 s of the kill, a killed client's
 * command gone within 2 s and its marker never made, operation_status right, SQLite integrity ok.
 * Prints one line per fault, then faults per op × victim, checks per kind, latencies and integrity.
 *
 * Flags: --faults N (100, spread evenly over the 4 ops × 2 victims), --seed S (20), --at-rename N
 * (5: N more faults of each file operation that kill the side renaming its destination the instant
 * the rename is seen, before the outcome is recorded),
 * --transfer-mib M (64), --keep (leave the work directory).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FaultCampaign } from '../test-support/fault-campaign/fault-campaign.ts';
import { planFaults } from '../test-support/fault-campaign/fault-plan.ts';
import { summarize } from '../test-support/fault-campaign/fault-summary.ts';

const { values } = parseArgs({
  options: {
    faults: { type: 'string', default: '100' },
    seed: { type: 'string', default: '20' },
    'transfer-mib': { type: 'string', default: '64' },
    'at-rename': { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
  },
});
const say = (line: string) => process.stdout.write(`${line}\n`);
const root = await mkdtemp(join(tmpdir(), 'reach-bench-faults-'));
const campaign = new FaultCampaign({
  root,
  sizes: { transferBytes: Number(values['transfer-mib']) * 1024 * 1024 },
  log: say,
});
const t0 = performance.now();
try {
  await campaign.start();
  say(
    `calibrated (unfaulted) durations: ${Object.entries(campaign.calibratedMs)
      .map(([op, d]) => `${op} ${d.toFixed(0)} ms`)
      .join(', ')}`,
  );
  for (const plan of planFaults(Number(values.seed), Number(values.faults), Number(values['at-rename'])))
    await campaign.run(plan);
  await campaign.finish();
} finally {
  await campaign.close();
  if (!values.keep) await rm(root, { recursive: true, force: true });
}
say('');
say(
  `${campaign.records.length} faults, seed ${values.seed}, ${((performance.now() - t0) / 1000).toFixed(0)} s${values.keep ? `, files kept in ${root}` : ''}`,
);
for (const line of summarize(campaign.records)) say(line);
process.exitCode = campaign.records.some((r) => r.failures.length > 0) ? 1 : 0;
