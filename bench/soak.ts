/**
 * `npm run bench:soak -- --minutes M`: a steady mix of MCP tool calls (run_command true,
 * write_file, read_file, list_files, get_client_metrics, list_clients) from one SDK client over
 * Streamable HTTP against a real reach-server process and a real client process, for M minutes.
 * Prints the RSS of both processes every `--sample` seconds, their RSS slopes (least squares,
 * MiB/h) after the warm-up (the first `--warmup` minutes, or the first third of a short run), the
 * client's RSS at the end, errors, and per-minute p50/p99 of `run_command true`. The baseline
 * each slope is read against is the issue's target: ≤ 5 MiB/h each, client ≤ 80 MiB at the end.
 *
 * Flags: --minutes M (20), --warmup M (10), --sample S (10).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { rssKiB } from '../packages/server/test/e2e-harness.ts';
import { eventually, startClient, startHttpServer } from '../packages/server/test/mcp/harness.ts';
import { percentile } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '10' },
    sample: { type: 'string', default: '10' },
  },
});
const minutes = Number(values.minutes);
const warmupMin = Math.min(Number(values.warmup), minutes / 3);
const sampleS = Number(values.sample);
const API_KEY = 'bench-soak-key';
const say = (line: string) => process.stdout.write(`${line}\n`);

const work = mkdtempSync(join(tmpdir(), 'reach-soak-'));
const server = await startHttpServer({ apiKey: API_KEY });
const agent = await startClient(server, { displayName: 'soak' });
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

const started = performance.now();
const endAt = started + minutes * 60_000;
let calls = 0;
let errors = 0;
const firstErrors: string[] = [];
const perMinute: number[][] = [];
const samples: Array<{ t: number; server: number; client: number }> = [];

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
  say(
    `t=${t.toFixed(1)} min  server ${(s / 1024).toFixed(1)} MiB  client ${(c / 1024).toFixed(1)} MiB  calls ${calls}  errors ${errors}`,
  );
}, sampleS * 1000);

let i = 0;
while (performance.now() < endAt) {
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
say('');
say(
  `soak: ${minutes} min, ${calls} calls, ${errors} errors${firstErrors.length ? ` (first: ${firstErrors.join(' | ')})` : ''}`,
);
say(`RSS slope after ${warmupMin.toFixed(1)} min (target ≤ 5 MiB/h each):`);
say(
  `  server ${slope(after.map((s) => ({ t: s.t, y: s.server }))).toFixed(1)} MiB/h  (${after[0]?.server.toFixed(1)} → ${last?.server.toFixed(1)} MiB)`,
);
say(
  `  client ${slope(after.map((s) => ({ t: s.t, y: s.client }))).toFixed(1)} MiB/h  (${after[0]?.client.toFixed(1)} → ${last?.client.toFixed(1)} MiB)`,
);
say(`client RSS at the end: ${last?.client.toFixed(1)} MiB (target ≤ 80 MiB)`);
say('run_command true per minute (ms): p50 / p99');
perMinute.forEach((l, m) => {
  const sorted = [...l].sort((a, b) => a - b);
  say(
    `  min ${m}: ${percentile(sorted, 50).toFixed(1)} / ${percentile(sorted, 99).toFixed(1)}  (n=${l.length})`,
  );
});
await mcp.close();
await agent.stop();
await server.stop();
rmSync(work, { recursive: true, force: true });
