/**
 * `npm run bench:scale -- --clients 10000`: a reach-server process at fleet scale.
 *
 * Simulated clients (one ssh2 connection each, own key, registered through hello, answering
 * heartbeats; the fleet of bench:memory) connect to a fresh server process. Printed: RSS of the
 * empty server and per idle client, the idle server's CPU over --minutes of heartbeats (and
 * whether SQLite was written meanwhile), list_clients and find_client latency over MCP
 * Streamable HTTP (first page, a page from the middle by cursor, online_only, by tag, by query;
 * beside describe_client of one client, the floor every call pays on this machine),
 * and the disconnect of the whole fleet at once (server CPU, time until none online). The same
 * fleet is then run against --baseline (a git revision, default `main`: its list_clients and
 * find_client answer with every client) in the same run, and last_seen writes at N clients are
 * timed in-process: one transaction per client (before) against one batch (after).
 *
 * Flags: --clients N (10000), --minutes M (1; the figure is --minutes 5), --reps N (50),
 * --baseline REF (main; `none` skips it), --settle-ms N (1500), --json FILE,
 * --server-node-options=… (node flags for both servers: `--max-semi-space-size=1` is how the service
 * unit, the Docker image and the executable run it).
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  authorizeSimKeys,
  connectManyClients,
  generateSimKeys,
  type SimKey,
} from '../packages/server/test/helpers/many-clients.ts';
import { type ServerProcess, spawnServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { extractRevision } from './lib/git-revision-tree.ts';
import { lastSeenWrites } from './lib/last-seen-writes.ts';
import { formatTable, type LatencyStats, ms, sequential } from './lib/measure.ts';
import { cpuSeconds, settledRss, waitOnline } from './lib/sim-fleet.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '1' },
    reps: { type: 'string', default: '50' },
    baseline: { type: 'string', default: 'main' },
    'settle-ms': { type: 'string', default: '1500' },
    'server-node-options': { type: 'string', default: '' },
    json: { type: 'string' },
  },
});
const total = Number(values.clients);
const minutes = Number(values.minutes);
const reps = Number(values.reps);
const settleMs = Number(values['settle-ms']);
if (!Number.isInteger(total) || total < 10 || !(minutes >= 0) || !Number.isInteger(reps) || reps < 1) {
  throw new Error('--clients ≥ 10, --minutes ≥ 0 and --reps ≥ 1 are required');
}
const API_KEY = 'bench-scale-key-7c4e1f';
const MIB = 2 ** 20;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Run {
  label: string;
  emptyRssMiB: number;
  fleetRssMiB: number;
  perClientKiB: number;
  connectS: number;
  idle?: { seconds: number; cpuPercent: number; dbWritten: boolean };
  latency: Record<string, LatencyStats & { clients: number; bytes: number }>;
  disconnect: { seconds: number; cpuS: number };
}

async function mcpClient(server: ServerProcess): Promise<Client> {
  const client = new Client({ name: 'bench-scale', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
    }),
  );
  return client;
}

/** Calls a tool and returns its parsed result; an error result throws. */
async function call(
  mcp: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ body: any; bytes: number }> {
  const r = await mcp.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
  const text = (r.content as Array<{ text: string }>)[0]?.text ?? '';
  if (r.isError) throw new Error(`${name}: ${text}`);
  return { body: JSON.parse(text), bytes: Buffer.byteLength(text) };
}

/** Modification time and size of the server's WAL: unchanged means nothing was written. */
async function walState(dataDir: string): Promise<string> {
  const s = await stat(join(dataDir, 'reach.db-wal')).catch(() => undefined);
  return s ? `${s.mtimeMs}:${s.size}` : 'none';
}

async function fleetRun(
  label: string,
  keys: readonly SimKey[],
  bin: string | undefined,
  paged: boolean,
): Promise<Run> {
  const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-scale-'));
  await authorizeSimKeys(dataDir, keys);
  const server = await spawnServerProcess(
    dataDir,
    ['--max-unauthenticated-per-source', '1000', '--api-key', API_KEY],
    // Both servers alike, e.g. `--server-node-options=--max-semi-space-size=1` as its unit runs it.
    values['server-node-options'].split(/\s+/).filter(Boolean),
    bin,
  );
  let fleet: Awaited<ReturnType<typeof connectManyClients>> | undefined;
  let mcp: Client | undefined;
  try {
    const emptyRss = await settledRss(server, { settleMs });
    log(`${label}: empty server ${(emptyRss / MIB).toFixed(1)} MiB; connecting ${keys.length} clients…`);
    const t0 = performance.now();
    fleet = await connectManyClients({
      port: server.sshPort,
      keys,
      connectConcurrency: 32,
      timeoutMs: 120_000,
    });
    await waitOnline(server, keys.length);
    const connectS = (performance.now() - t0) / 1000;
    const fleetRss = await settledRss(server, { settleMs });
    log(
      `${label}: ${keys.length} online in ${connectS.toFixed(0)} s, RSS ${(fleetRss / MIB).toFixed(1)} MiB`,
    );

    let idle: Run['idle'];
    if (paged && minutes > 0) {
      log(`${label}: idle for ${minutes} min of heartbeats…`);
      const wal0 = await walState(dataDir);
      const cpu0 = await cpuSeconds(server.pid);
      const w0 = performance.now();
      await sleep(minutes * 60_000);
      const seconds = (performance.now() - w0) / 1000;
      const cpu = (await cpuSeconds(server.pid)) - cpu0;
      idle = { seconds, cpuPercent: (cpu / seconds) * 100, dbWritten: (await walState(dataDir)) !== wal0 };
    }

    mcp = await mcpClient(server);
    const latency: Run['latency'] = {};
    const measure = async (name: string, tool: string, args: Record<string, unknown>, n = reps) => {
      const first = await call(mcp!, tool, args);
      const stats = await sequential(n, () => call(mcp!, tool, args));
      latency[name] = { ...stats, clients: first.body.clients?.length ?? 1, bytes: first.bytes };
      log(`${label}: ${name}: p50 ${ms(stats.p50)} ms (${latency[name]?.clients} clients, ${first.bytes} B)`);
      return first.body;
    };
    // The floor: one client looked up by uuid, what every call pays for MCP over HTTP here.
    await measure('describe_client (floor: one client)', 'describe_client', { uuid: fleet.clients[0]?.uuid });
    if (paged) {
      await measure('list_clients first page (limit 100)', 'list_clients', { limit: 100 });
      // A cursor past half the fleet: walk big pages (cut to the result cap) until there.
      const step = Math.min(1000, Math.floor(keys.length / 2));
      let cursor: string | null = null;
      for (let seen = 0; seen < keys.length / 2; ) {
        const { body } = await call(mcp, 'list_clients', cursor ? { limit: step, cursor } : { limit: step });
        seen += body.clients.length;
        cursor = body.next_cursor;
      }
      await measure('list_clients middle page by cursor', 'list_clients', { limit: 100, cursor });
      await measure('list_clients online_only', 'list_clients', { limit: 100, online_only: true });
      await measure('find_client tags [sim] (all match)', 'find_client', { tags: ['sim'], limit: 100 });
      await measure('find_client query sim-123 (few match)', 'find_client', { query: 'sim-123', limit: 100 });
    } else {
      const few = Math.max(5, Math.ceil(reps / 5));
      await measure('list_clients (whole fleet)', 'list_clients', {}, few);
      await measure('find_client tags [sim] (all match)', 'find_client', { tags: ['sim'] }, few);
      await measure('find_client query sim-123 (few match)', 'find_client', { query: 'sim-123' }, few);
    }
    await mcp.close();
    mcp = undefined;

    log(`${label}: disconnecting all ${keys.length} at once…`);
    const cpu0 = await cpuSeconds(server.pid);
    const d0 = performance.now();
    await fleet.close();
    fleet = undefined;
    await waitOnline(server, 0, 120_000);
    const disconnect = {
      seconds: (performance.now() - d0) / 1000,
      cpuS: (await cpuSeconds(server.pid)) - cpu0,
    };
    return {
      label,
      emptyRssMiB: emptyRss / MIB,
      fleetRssMiB: fleetRss / MIB,
      perClientKiB: (fleetRss - emptyRss) / keys.length / 1024,
      connectS,
      ...(idle ? { idle } : {}),
      latency,
      disconnect,
    };
  } finally {
    await mcp?.close().catch(() => {});
    await fleet?.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const keys = generateSimKeys(total);
const runs: Run[] = [await fleetRun('this tree', keys, undefined, true)];
if (values.baseline !== 'none') {
  const tree = await extractRevision(values.baseline);
  try {
    runs.push(await fleetRun(`${values.baseline} (${tree.commit.slice(0, 8)})`, keys, tree.serverBin, false));
  } finally {
    await tree.remove();
  }
}
const writes = await lastSeenWrites(total);

console.log(`\nreach-server at ${total} simulated idle clients (Node ${process.version})\n`);
console.log(
  formatTable([
    [
      '',
      'empty RSS (MiB)',
      `RSS at ${total} (MiB)`,
      'per client (KiB)',
      'connect all (s)',
      'disconnect all: s / server CPU s',
    ],
    ...runs.map((r) => [
      r.label,
      r.emptyRssMiB.toFixed(1),
      r.fleetRssMiB.toFixed(1),
      r.perClientKiB.toFixed(1),
      r.connectS.toFixed(0),
      `${r.disconnect.seconds.toFixed(1)} / ${r.disconnect.cpuS.toFixed(2)}`,
    ]),
  ]),
);
const idle = runs[0]?.idle;
if (idle) {
  console.log(
    `\nidle CPU over ${idle.seconds.toFixed(0)} s of heartbeats at ${total} clients: ${idle.cpuPercent.toFixed(2)} % of one core ` +
      `(target ≤ 5 %); SQLite written meanwhile: ${idle.dbWritten ? 'yes' : 'no'}`,
  );
}
console.log('\nMCP tool latency over Streamable HTTP (ms)\n');
console.log(
  formatTable([
    ['', 'call', 'p50', 'p99', 'clients in result', 'result bytes'],
    ...runs.flatMap((r) =>
      Object.entries(r.latency).map(([name, s]) => [
        r.label,
        name,
        ms(s.p50),
        ms(s.p99),
        String(s.clients),
        String(s.bytes),
      ]),
    ),
  ]),
);
console.log(
  `\nlast_seen of ${total} clients: one transaction each ${writes.perRowMs.toFixed(0)} ms ` +
    `(${total} commits, ${((total / writes.perRowMs) * 1000).toFixed(0)} rows/s), one batch ${writes.batchMs.toFixed(0)} ms (1 commit)`,
);
if (values.json) await writeFile(values.json, `${JSON.stringify({ runs, writes }, null, 2)}\n`);
