/**
 * `npm run bench:soak -- --minutes M`: a steady mix of MCP tool calls (run_command true,
 * write_file, read_file, list_files, get_client_metrics, list_clients) from one SDK client over
 * Streamable HTTP against a real reach-server process and a real client process, for M minutes.
 * Prints the RSS of both processes every `--sample` seconds, their RSS slopes (least squares,
 * MiB/h) after the warm-up (the first `--warmup` minutes, or the first third of a short run), the
 * client's RSS at the end, errors, and per-minute p50/p99 of `run_command true`. The baseline
 * each slope is read against is the issue's target: ≤ 5 MiB/h each, client ≤ 80 MiB at the end.
 *
 * With `--heap-snapshots DIR` both processes run with their inspector on loopback and a heap
 * snapshot of each is written to DIR when the warm-up ends and again at the end; the kinds of
 * objects that grew between the two are printed. A snapshot forces a full collection and costs the
 * process memory of its own, so read RSS slopes from a run without it.
 *
 * Both processes are started through their installed commands (package.json "bin", which turn on
 * the compile cache, a fresh one per run filled by the client's --init); `--entry src` starts
 * `src/bin.ts` directly instead, which is what the soak measured before those commands existed.
 *
 * With `--memory-breakdown` both processes run with their inspector on loopback and every sample
 * also reads `process.memoryUsage()` from each (no snapshot, no forced collection): the slopes of
 * V8's committed heap, external memory and the rest of RSS (native allocations, code, stacks) say
 * where growth is, which a heap snapshot of live objects cannot.
 *
 * Flags: --minutes M (20), --warmup M (10), --sample S (10), --heap-snapshots DIR, --entry installed|src,
 * --memory-breakdown, --client-node-options=… and --server-node-options=… (V8 flags for one of the
 * two processes, e.g. to compare heap sizing side by side with a run without them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { rssKiB } from '../packages/server/test/e2e-harness.ts';
import {
  CLIENT_LAUNCHER,
  eventually,
  SERVER_LAUNCHER,
  startClient,
  startHttpServer,
} from '../packages/server/test/mcp/harness.ts';
import { heapGrowth, summarizeHeapSnapshot, writeHeapSnapshot } from './lib/heap-snapshot.ts';
import { inspectorEvaluate, inspectorUrl } from './lib/inspector-gc.ts';
import { percentile } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '10' },
    sample: { type: 'string', default: '10' },
    'heap-snapshots': { type: 'string' },
    entry: { type: 'string', default: 'installed' },
    'memory-breakdown': { type: 'boolean', default: false },
    'client-node-options': { type: 'string', default: '' },
    'server-node-options': { type: 'string', default: '' },
  },
});
const minutes = Number(values.minutes);
const warmupMin = Math.min(Number(values.warmup), minutes / 3);
const sampleS = Number(values.sample);
const API_KEY = 'bench-soak-key';
const say = (line: string) => process.stdout.write(`${line}\n`);

const snapshotDir = values['heap-snapshots'];
const installed = values.entry !== 'src';
const work = mkdtempSync(join(tmpdir(), 'reach-soak-'));
const env: Record<string, string> = { REACH_COMPILE_CACHE: join(work, 'compile-cache') };
const breakdown = values['memory-breakdown'];
if (snapshotDir || breakdown) env.NODE_OPTIONS = '--inspect=127.0.0.1:0';
/** `env` with one process's own V8 flags (--server-node-options / --client-node-options) added. */
const envWith = (extra: string | undefined): Record<string, string> => {
  const options = [env.NODE_OPTIONS, extra].filter(Boolean).join(' ');
  return options ? { ...env, NODE_OPTIONS: options } : env;
};
/** A server, a client and an MCP session with that client selected. */
const startPair = async () => {
  const server = await startHttpServer({
    apiKey: API_KEY,
    env: envWith(values['server-node-options']),
    ...(installed && { bin: SERVER_LAUNCHER }),
  });
  const agent = await startClient(server, {
    displayName: 'soak',
    env: envWith(values['client-node-options']),
    ...(installed && { bin: CLIENT_LAUNCHER }),
  });
  await agent.logs.waitFor((l) => l.msg === 'connected to server');
  const mcp = new Client({ name: 'soak', version: '1' });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
    }),
  );
  await eventually(async () => {
    const r = await mcp.callTool({ name: 'select_client', arguments: { client_id: agent.uuid } });
    return r.isError ? undefined : true;
  });
  return { server, agent, mcp };
};
if (installed) {
  // Processes that have run before, as a service restarted after an upgrade or a reboot: one
  // pass of the mix fills the compile cache (written when they exit) with every module it loads.
  const warm = await startPair();
  const f = join(work, 'warm.txt');
  await warm.mcp.callTool({ name: 'run_command', arguments: { cmd: 'true' } });
  await warm.mcp.callTool({ name: 'write_file', arguments: { path: f, content: 'warm' } });
  await warm.mcp.callTool({ name: 'read_file', arguments: { path: f } });
  await warm.mcp.callTool({ name: 'list_files', arguments: { path: work } });
  await warm.mcp.callTool({ name: 'get_client_metrics', arguments: { summary: true } });
  await warm.mcp.callTool({ name: 'list_clients', arguments: {} });
  await warm.mcp.close();
  await warm.agent.stop();
  await warm.server.stop();
}
const { server, agent, mcp } = await startPair();
// Idle: connected and selected, no tool called yet.
await new Promise((r) => setTimeout(r, 3000));
const idle = {
  server: (await rssKiB(server.proc.pid ?? 0)) / 1024,
  client: (await rssKiB(agent.proc.pid ?? 0)) / 1024,
};
say(`entry: ${installed ? 'installed commands (bin/*.mjs, compile cache)' : 'src/bin.ts'}`);
if (values['client-node-options']) say(`client NODE_OPTIONS: ${values['client-node-options']}`);
if (values['server-node-options']) say(`server NODE_OPTIONS: ${values['server-node-options']}`);
say(`idle RSS after start-up: server ${idle.server.toFixed(1)} MiB  client ${idle.client.toFixed(1)} MiB`);
const snapshots: Record<string, string[]> = { server: [], client: [] };
/** Writes one snapshot of each process into snapshotDir, named by `label`. */
const snapshotBoth = async (label: string) => {
  if (!snapshotDir) return;
  for (const [name, proc] of [
    ['server', server],
    ['client', agent],
  ] as const) {
    const url = inspectorUrl(proc.logs.raw.join('\n'));
    if (!url) throw new Error(`${name} printed no inspector URL`);
    const file = join(snapshotDir, `${name}-${label}.heapsnapshot`);
    await writeHeapSnapshot(url, file);
    snapshots[name]?.push(file);
    say(`  heap snapshot ${file}`);
  }
};
const started = performance.now();
const endAt = started + minutes * 60_000;
let calls = 0;
let errors = 0;
const firstErrors: string[] = [];
const perMinute: number[][] = [];
const samples: Array<{ t: number; server: number; client: number }> = [];
/** MiB: V8's committed heap, its live part, external (Buffers outside the heap), RSS minus both. */
type Breakdown = { t: number; heapTotal: number; heapUsed: number; external: number; rest: number };
const parts: Record<'server' | 'client', Breakdown[]> = { server: [], client: [] };
const MiB = 1024 * 1024;
const readBreakdown = async (name: 'server' | 'client', t: number): Promise<string> => {
  const proc = name === 'server' ? server : agent;
  const url = inspectorUrl(proc.logs.raw.join('\n'));
  if (!url) return `${name}: no inspector URL`;
  const m = await inspectorEvaluate<NodeJS.MemoryUsage>(url, 'process.memoryUsage()');
  const b = {
    t,
    heapTotal: m.heapTotal / MiB,
    heapUsed: m.heapUsed / MiB,
    external: m.external / MiB,
    rest: (m.rss - m.heapTotal - m.external) / MiB,
  };
  parts[name].push(b);
  return `${name} heap ${b.heapTotal.toFixed(1)} (live ${b.heapUsed.toFixed(1)}) ext ${b.external.toFixed(1)} rest ${b.rest.toFixed(1)}`;
};

const call = async (name: string, args: Record<string, unknown>) => {
  const r = await mcp
    .callTool({ name, arguments: args }, undefined, { timeout: 30_000 })
    .catch((err: Error) => ({
      isError: true,
      content: [{ type: 'text', text: err.message }],
    }));
  calls += 1;
  if (r.isError) {
    errors += 1;
    const text = (r.content as Array<{ text: string }>)[0]?.text ?? '';
    if (firstErrors.length < 5) firstErrors.push(`${name}: ${text.slice(0, 200)}`);
  }
};

const sampler = setInterval(async () => {
  const t = (performance.now() - started) / 60_000;
  const [s, c] = await Promise.all([rssKiB(server.proc.pid ?? 0), rssKiB(agent.proc.pid ?? 0)]);
  samples.push({ t, server: s / 1024, client: c / 1024 });
  const detail = breakdown
    ? `  |  ${(await Promise.all([readBreakdown('server', t), readBreakdown('client', t)].map((p) => p.catch((e: Error) => e.message)))).join('  |  ')}`
    : '';
  say(
    `t=${t.toFixed(1)} min  server ${(s / 1024).toFixed(1)} MiB  client ${(c / 1024).toFixed(1)} MiB  calls ${calls}  errors ${errors}${detail}`,
  );
}, sampleS * 1000);

let i = 0;
let warmSnapshot = snapshotDir === undefined;
while (performance.now() < endAt) {
  if (!warmSnapshot && performance.now() - started >= warmupMin * 60_000) {
    warmSnapshot = true;
    await snapshotBoth('warm');
  }
  const minute = Math.floor((performance.now() - started) / 60_000);
  const t0 = performance.now();
  await call('run_command', { cmd: 'true' });
  const bucket = perMinute[minute] ?? [];
  perMinute[minute] = bucket;
  bucket.push(performance.now() - t0);
  const f = join(work, `f${i % 20}.txt`);
  await call('write_file', { path: f, content: `soak ${i} `.repeat(200) });
  await call('read_file', { path: f });
  if (i % 5 === 0) await call('list_files', { path: work });
  if (i % 10 === 0) await call('get_client_metrics', { summary: true });
  if (i % 10 === 5) await call('list_clients', {});
  i += 1;
}
clearInterval(sampler);
await snapshotBoth('end');

/** Least-squares slope of y over t (minutes), in MiB per hour. */
const slope = (pts: Array<{ t: number; y: number }>) => {
  const n = pts.length;
  if (n < 2) return Number.NaN;
  const mt = pts.reduce((a, p) => a + p.t, 0) / n;
  const my = pts.reduce((a, p) => a + p.y, 0) / n;
  const num = pts.reduce((a, p) => a + (p.t - mt) * (p.y - my), 0);
  const den = pts.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return (num / den) * 60;
};
const after = samples.filter((s) => s.t >= warmupMin);
const last = samples.at(-1);
const serverSlope = slope(after.map((s) => ({ t: s.t, y: s.server })));
const clientSlope = slope(after.map((s) => ({ t: s.t, y: s.client })));
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
say('');
say(
  `soak: ${minutes} min, ${calls} calls, ${errors} errors${firstErrors.length ? ` (first: ${firstErrors.join(' | ')})` : ''}`,
);
say(`RSS slope after ${warmupMin.toFixed(1)} min (target ≤ 5 MiB/h each):`);
say(
  `  server ${serverSlope.toFixed(1)} MiB/h  (${after[0]?.server.toFixed(1)} → ${last?.server.toFixed(1)} MiB)  ${verdict(serverSlope <= 5)}`,
);
say(
  `  client ${clientSlope.toFixed(1)} MiB/h  (${after[0]?.client.toFixed(1)} → ${last?.client.toFixed(1)} MiB)  ${verdict(clientSlope <= 5)}`,
);
if (breakdown) {
  say(`where RSS moved after the warm-up (MiB/h; "rest" is RSS outside V8's heap and external memory):`);
  for (const name of ['server', 'client'] as const) {
    const pts = parts[name].filter((b) => b.t >= warmupMin);
    const of = (k: 'heapTotal' | 'heapUsed' | 'external' | 'rest') =>
      slope(pts.map((b) => ({ t: b.t, y: b[k] }))).toFixed(1);
    say(
      `  ${name}: heap committed ${of('heapTotal')}  heap live ${of('heapUsed')}  external ${of('external')}  rest ${of('rest')}`,
    );
  }
}
say(`idle RSS after start-up: server ${idle.server.toFixed(1)} MiB  client ${idle.client.toFixed(1)} MiB`);
say(
  `client RSS at the end: ${last?.client.toFixed(1)} MiB (target ≤ 80 MiB)  ${verdict((last?.client ?? Number.POSITIVE_INFINITY) <= 80)}`,
);
say(`errors: ${errors} (target 0)  ${verdict(errors === 0)}`);
say('run_command true per minute (ms): p50 / p99');
const p50s: number[] = [];
perMinute.forEach((l, m) => {
  const sorted = [...l].sort((a, b) => a - b);
  p50s.push(percentile(sorted, 50));
  say(
    `  min ${m}: ${percentile(sorted, 50).toFixed(1)} / ${percentile(sorted, 99).toFixed(1)}  (n=${l.length})`,
  );
});
// The trend is the p50's least-squares slope over the minutes after the warm-up, against the
// p50 itself: more than 10 % per 10 minutes is called upward.
const warmP50 = p50s.map((y, t) => ({ t, y })).filter((p) => p.t >= warmupMin);
const p50Slope = slope(warmP50) / 6;
const p50Mean = warmP50.reduce((a, p) => a + p.y, 0) / Math.max(1, warmP50.length);
say(
  `run_command true p50 trend after the warm-up: ${p50Slope >= 0 ? '+' : ''}${p50Slope.toFixed(2)} ms per 10 min on ${p50Mean.toFixed(1)} ms (target: no upward trend, ≤ +10 %)  ${verdict(!(p50Slope > 0.1 * p50Mean))}`,
);
for (const name of ['server', 'client'] as const) {
  const [before, after] = snapshots[name] ?? [];
  if (!before || !after) continue;
  say(`${name} heap, warm-up end → end (largest growth first):`);
  for (const line of heapGrowth(await summarizeHeapSnapshot(before), await summarizeHeapSnapshot(after)))
    say(`  ${line}`);
}
await mcp.close();
await agent.stop();
await server.stop();
rmSync(work, { recursive: true, force: true });
