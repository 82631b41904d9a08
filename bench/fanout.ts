/**
 * `npm run bench:fanout`: `run_on_clients "true"` to N simulated clients (1,000 by default; the
 * bench:memory simulation, each answering run_command at once) beside the same N `run_command`
 * calls made one after another, in one run against one reach-server process, through the official
 * MCP SDK client over Streamable HTTP. Prints wall time to all results and the server's CPU time
 * (utime + stime from /proc/<pid>/stat) for each.
 *
 * Flags: --clients N (1000), --parallel a,b (32,256: run_on_clients max_parallel values), --rounds N (3).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  authorizeSimKeys,
  connectManyClients,
  generateSimKeys,
} from '../packages/server/test/helpers/many-clients.ts';
import { spawnServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { formatTable, median } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    parallel: { type: 'string', default: '32,256' },
    rounds: { type: 'string', default: '3' },
  },
});
const n = Number(values.clients);
const rounds = Number(values.rounds);
const parallels = values.parallel.split(',').map(Number);
const log = (line: string) => process.stderr.write(`${line}\n`);
const TICK_S = 100; // Linux USER_HZ

async function cpuSeconds(pid: number): Promise<number> {
  const line = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK_S;
}

const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-fanout-'));
const keys = generateSimKeys(n);
await authorizeSimKeys(dataDir, keys);
// Each round makes one call per client: far inside the default per-client rate limits.
const server = await spawnServerProcess(dataDir, ['--max-unauthenticated-per-source', '1000']);
log(`server pid ${server.pid}; connecting ${n} simulated clients…`);
const sims = await connectManyClients({ port: server.sshPort, keys, tagsOf: () => ['bench'] });
while ((await server.clientCounts()).online !== n) await new Promise((r) => setTimeout(r, 100));
const mcp = new Client({ name: 'bench-fanout', version: '1' });
await mcp.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`)));

const call = async (name: string, args: Record<string, unknown>) => {
  const r = await mcp.callTool({ name, arguments: args }, undefined, { timeout: 600_000 });
  const body = JSON.parse((r.content as { text: string }[])[0]?.text ?? '{}');
  if (r.isError) throw new Error(`${name}: ${JSON.stringify(body)}`);
  return body;
};
const measure = async (op: () => Promise<void>) => {
  const cpu0 = await cpuSeconds(server.pid);
  const t0 = performance.now();
  await op();
  return { wallMs: performance.now() - t0, cpuS: (await cpuSeconds(server.pid)) - cpu0 };
};

try {
  const rows: string[][] = [
    ['how', 'wall to all results (ms, median)', 'server CPU (s, median)', 'results ok'],
  ];
  // Warm-up: code paths loaded once.
  await call('run_on_clients', { cmd: 'true', target: { tags: ['bench'] } });
  for (const p of parallels) {
    const runs: { wallMs: number; cpuS: number }[] = [];
    let okCount = 0;
    for (let i = 0; i < rounds; i++) {
      runs.push(
        await measure(async () => {
          const r = await call('run_on_clients', {
            cmd: 'true',
            target: { tags: ['bench'] },
            max_parallel: p,
          });
          okCount = r.counts.ok;
        }),
      );
    }
    rows.push([
      `run_on_clients, max_parallel ${p}`,
      median(runs.map((r) => r.wallMs)).toFixed(0),
      median(runs.map((r) => r.cpuS)).toFixed(2),
      `${okCount}/${n}`,
    ]);
    log(`run_on_clients max_parallel ${p}: ${runs.map((r) => r.wallMs.toFixed(0)).join(', ')} ms`);
  }
  const uuids = sims.clients.map((c) => c.uuid);
  const seq = await measure(async () => {
    for (const uuid of uuids) await call('run_command', { cmd: 'true', client_id: uuid });
  });
  rows.push([
    `${n} × run_command, one after another`,
    seq.wallMs.toFixed(0),
    seq.cpuS.toFixed(2),
    `${n}/${n}`,
  ]);
  console.log(`\nrun_on_clients "true" to ${n} simulated clients (Node ${process.version})\n`);
  console.log(formatTable(rows));
  const best = Math.min(...rows.slice(1, 1 + parallels.length).map((r) => Number(r[1])));
  console.log(`\nfastest fan-out ${best} ms; target ≤ 2000 ms: ${best <= 2000 ? 'met' : 'NOT met'}`);
  console.log(`sequential calls / fastest fan-out: ${(seq.wallMs / best).toFixed(1)}×`);
} finally {
  await mcp.close();
  await sims.close();
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
