/**
 * `npm run bench:memory`: resident memory a reach-server process spends per idle client.
 *
 * The server runs as its own process (RSS read from /proc/<pid>/status); simulated clients (one
 * ssh2 connection each, own key, registered through hello like a real agent) are opened from this
 * process in steps up to --clients (500). A warm-up batch connects and leaves first, so code
 * loaded on the first connection is not billed to the clients. Per-client cost is given two ways:
 * (RSS at N − RSS before) / N, and the least-squares slope over the steps.
 *
 * Flags: --clients N (500), --steps N (5), --settle-ms N (1500), --json FILE.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  authorizeSimKeys,
  connectManyClients,
  generateSimKeys,
  type ManyClients,
  rssBytes,
  spawnServerProcess,
} from '../packages/server/test/helpers/many-clients.ts';
import { formatTable, median } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '500' },
    steps: { type: 'string', default: '5' },
    'settle-ms': { type: 'string', default: '1500' },
    json: { type: 'string' },
  },
});
const total = Number(values.clients);
const steps = Number(values.steps);
const settleMs = Number(values['settle-ms']);
if (!Number.isInteger(total) || total < 1 || !Number.isInteger(steps) || steps < 1) {
  throw new Error('--clients and --steps must be positive integers');
}
const WARMUP = 20;
const KIB = 1024;

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-mem-'));
const keys = generateSimKeys(total + WARMUP);
await authorizeSimKeys(dataDir, keys);
const server = await spawnServerProcess(dataDir);
const batches: ManyClients[] = [];

/** Median of five RSS samples taken over about a second, after letting the server settle. */
async function settledRss(): Promise<number> {
  await sleep(settleMs);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(await rssBytes(server.pid));
    await sleep(200);
  }
  return median(samples);
}

async function waitOnline(n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await server.clientCounts()).online !== n) {
    if (Date.now() > deadline) throw new Error(`${n} clients not online within 60 s`);
    await sleep(100);
  }
}

try {
  log(`server pid ${server.pid}, SSH port ${server.sshPort}; warming up with ${WARMUP} clients…`);
  const warm = await connectManyClients({ port: server.sshPort, keys: keys.slice(total) });
  await waitOnline(WARMUP);
  await warm.close();
  await waitOnline(0);

  const before = await settledRss();
  const points: Array<{ n: number; rss: number }> = [{ n: 0, rss: before }];
  let connected = 0;
  for (let step = 1; step <= steps; step++) {
    const target = Math.round((total * step) / steps);
    const batch = await connectManyClients({ port: server.sshPort, keys: keys.slice(connected, target) });
    batches.push(batch);
    connected = target;
    await waitOnline(connected);
    const rss = await settledRss();
    points.push({ n: connected, rss });
    log(`${connected} idle clients: RSS ${(rss / 2 ** 20).toFixed(1)} MiB`);
  }

  const last = points.at(-1)!;
  const perClient = (last.rss - before) / last.n;
  const meanN = points.reduce((a, p) => a + p.n, 0) / points.length;
  const meanR = points.reduce((a, p) => a + p.rss, 0) / points.length;
  const slope =
    points.reduce((a, p) => a + (p.n - meanN) * (p.rss - meanR), 0) /
    points.reduce((a, p) => a + (p.n - meanN) ** 2, 0);

  console.log(
    `\nreach-server RSS with idle clients (server process ${server.pid}, Node ${process.version})\n`,
  );
  console.log(
    formatTable([
      ['idle clients', 'RSS (MiB)', 'Δ from 0 (MiB)', 'per client (KiB)'],
      ...points.map((p) => [
        String(p.n),
        (p.rss / 2 ** 20).toFixed(1),
        ((p.rss - before) / 2 ** 20).toFixed(1),
        p.n === 0 ? '' : ((p.rss - before) / p.n / KIB).toFixed(1),
      ]),
    ]),
  );
  console.log(`\nper idle client: ${(perClient / KIB).toFixed(1)} KiB at ${last.n} clients`);
  console.log(`per idle client (slope over ${steps} steps): ${(slope / KIB).toFixed(1)} KiB`);
  console.log(`target ≤ 100 KB: ${perClient <= 100_000 ? 'met' : 'NOT met'}`);

  if (values.json) {
    await writeFile(values.json, `${JSON.stringify({ points, perClient, slope }, null, 2)}\n`);
  }
} finally {
  await Promise.all(batches.map((b) => b.close()));
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
