/**
 * `npm run bench:memory`: resident memory a reach-server process spends per idle client.
 *
 * The server runs as its own process (RSS read from /proc/<pid>/status); simulated clients (one
 * ssh2 connection each, own key, registered through hello like a real agent) are opened from this
 * process in steps up to --clients (500). A warm-up batch connects and leaves first, so code
 * loaded on the first connection is not billed to the clients. Per-client cost is given two ways:
 * (RSS at N − RSS before) / N, and the least-squares slope over the steps. A second pass runs a
 * fresh server with its inspector on loopback and forces a full GC before each reading: the first
 * pass includes V8's headroom left by the handshakes' garbage, the second shows what stays live.
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
} from '../packages/server/test/helpers/many-clients.ts';
import { spawnServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { formatTable } from './lib/measure.ts';
import { settledRss, waitOnline } from './lib/sim-fleet.ts';

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

const keys = generateSimKeys(total + WARMUP);

interface Point {
  n: number;
  rss: number;
}

/** Connects clients in `steps` batches to a fresh server process and reads its RSS at each step. */
async function series(forceGc: boolean): Promise<Point[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-mem-'));
  await authorizeSimKeys(dataDir, keys);
  // All simulated clients share 127.0.0.1: lift the per-source cap of unauthenticated connections.
  const server = await spawnServerProcess(
    dataDir,
    ['--max-unauthenticated-per-source', '1000'],
    forceGc ? ['--inspect=127.0.0.1:0'] : [],
  );
  const batches: ManyClients[] = [];
  const label = forceGc ? 'after GC' : 'plain';

  const readRss = (): Promise<number> => settledRss(server, { settleMs, forceGc });

  try {
    log(`${label}: server pid ${server.pid}; warming up with ${WARMUP} clients…`);
    const warm = await connectManyClients({ port: server.sshPort, keys: keys.slice(total) });
    await waitOnline(server, WARMUP);
    await warm.close();
    await waitOnline(server, 0);
    const points: Point[] = [{ n: 0, rss: await readRss() }];
    let connected = 0;
    for (let step = 1; step <= steps; step++) {
      const target = Math.round((total * step) / steps);
      batches.push(await connectManyClients({ port: server.sshPort, keys: keys.slice(connected, target) }));
      connected = target;
      await waitOnline(server, connected);
      const rss = await readRss();
      points.push({ n: connected, rss });
      log(`${label}: ${connected} idle clients, RSS ${(rss / 2 ** 20).toFixed(1)} MiB`);
    }
    return points;
  } finally {
    await Promise.all(batches.map((b) => b.close()));
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Least-squares slope of RSS over client count, in bytes per client. */
function slope(points: readonly Point[]): number {
  const meanN = points.reduce((a, p) => a + p.n, 0) / points.length;
  const meanR = points.reduce((a, p) => a + p.rss, 0) / points.length;
  return (
    points.reduce((a, p) => a + (p.n - meanN) * (p.rss - meanR), 0) /
    points.reduce((a, p) => a + (p.n - meanN) ** 2, 0)
  );
}

const plain = await series(false);
const gc = await series(true);
const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
const perClient = (points: readonly Point[], i: number): string => {
  const p = points[i]!;
  return p.n === 0 ? '' : ((p.rss - points[0]!.rss) / p.n / KIB).toFixed(1);
};

console.log(`\nreach-server RSS with idle clients (Node ${process.version})\n`);
console.log(
  formatTable([
    ['idle clients', 'RSS (MiB)', 'per client (KiB)', 'after full GC: RSS (MiB)', 'per client (KiB)'],
    ...plain.map((p, i) => [String(p.n), mib(p.rss), perClient(plain, i), mib(gc[i]!.rss), perClient(gc, i)]),
  ]),
);
const last = plain.at(-1)!;
const perClientPlain = (last.rss - plain[0]!.rss) / last.n;
const perClientGc = (gc.at(-1)!.rss - gc[0]!.rss) / last.n;
console.log(`\nper idle client: ${(perClientPlain / KIB).toFixed(1)} KiB at ${last.n} clients`);
console.log(`per idle client (slope over ${steps} steps): ${(slope(plain) / KIB).toFixed(1)} KiB`);
console.log(
  `per idle client after a full GC: ${(perClientGc / KIB).toFixed(1)} KiB ` +
    `(slope ${(slope(gc) / KIB).toFixed(1)} KiB)`,
);
console.log(`target ≤ 100 KB: ${perClientPlain <= 100_000 ? 'met' : 'NOT met'}`);

if (values.json) {
  await writeFile(
    values.json,
    `${JSON.stringify({ plain, gc, perClient: perClientPlain, perClientGc }, null, 2)}\n`,
  );
}
