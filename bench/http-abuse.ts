/**
 * `npm run bench:http-abuse`: what an abusive HTTP caller costs reach-server, beside the idle
 * baseline of the same server process in the same run.
 *
 * 1. Baseline: RSS of an idle server, and the time a new MCP session takes (SDK client: initialize,
 *    one list_clients call, close), median of --samples.
 * 2. --flood (2000) abandoned `initialize` calls from one key: RSS, sessions held and evicted, and
 *    the time a new session takes now.
 * 3. --bodies (8) parallel POSTs of --mib (50) MiB to /mcp, declared with Content-Length and then
 *    chunked: how they were answered, and RSS.
 * RSS is read from /proc twice: as it is, and after a full GC forced through the server's
 * inspector on loopback (what stays live, without V8's headroom).
 *
 * Flags: --flood N (2000), --bodies N (8), --mib N (50), --samples N (10).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rssBytes, spawnServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { bigPost, connect, flood, health, MiB } from '../packages/server/test/mcp/http-abuse.ts';
import { callTool } from '../packages/server/test/mcp/mcp-client.ts';
import { collectGarbage, inspectorUrl } from './lib/inspector-gc.ts';
import { formatTable, ms, sequential } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    flood: { type: 'string', default: '2000' },
    bodies: { type: 'string', default: '8' },
    mib: { type: 'string', default: '50' },
    samples: { type: 'string', default: '10' },
  },
});
const floodN = Number(values.flood);
const bodiesN = Number(values.bodies);
const bodyMiB = Number(values.mib);
const samples = Number(values.samples);
const API_KEY = 'bench-http-abuse-key';
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number): string => (bytes / MiB).toFixed(0);

const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-http-abuse-'));
const server = await spawnServerProcess(dataDir, ['--api-key', API_KEY], ['--inspect=127.0.0.1:0']);
const port = server.httpPort;

/** RSS as it is, then after a full GC. */
async function rss(): Promise<{ plain: number; gc: number }> {
  await sleep(500);
  const plain = await rssBytes(server.pid);
  const url = inspectorUrl(server.stderr());
  if (!url) throw new Error(`server printed no inspector URL:\n${server.stderr()}`);
  await collectGarbage(url);
  await sleep(300);
  return { plain, gc: await rssBytes(server.pid) };
}

async function newSession(): Promise<void> {
  const { client } = await connect(port, API_KEY);
  const r = await callTool(client, 'list_clients');
  if (r.isError) throw new Error(`list_clients failed: ${JSON.stringify(r.body)}`);
  await client.close();
}

const tally = (rs: { status: number }[]): string =>
  [413, 429, 0]
    .map((st) => [st === 0 ? 'reset' : String(st), rs.filter((r) => r.status === st).length] as const)
    .filter(([, n]) => n > 0)
    .map(([st, n]) => `${n}×${st}`)
    .join(' ');

try {
  await newSession(); // warm-up: code loaded on the first session is not billed to the flood
  const idle = await rss();
  const baseline = await sequential(samples, newSession);
  log(`baseline: RSS ${mib(idle.plain)} MiB, new session p50 ${ms(baseline.p50)}`);

  log(`flooding with ${floodN} abandoned initialize calls…`);
  const t0 = performance.now();
  await flood(port, API_KEY, floodN);
  const floodS = (performance.now() - t0) / 1000;
  const afterFlood = await rss();
  const stats = (await health(port)).mcp;
  const during = await sequential(samples, newSession);

  log(`${bodiesN} × ${bodyMiB} MiB bodies, declared then chunked…`);
  const body = bodyMiB * MiB;
  const beforeBodies = await rss();
  const declared = await Promise.all(
    Array.from({ length: bodiesN }, () => bigPost(port, '/mcp', body, { chunked: false, key: API_KEY })),
  );
  const afterDeclared = await rss();
  const chunked = await Promise.all(
    Array.from({ length: bodiesN }, () => bigPost(port, '/mcp', body, { chunked: true, key: API_KEY })),
  );
  const afterChunked = await rss();
  const after = await sequential(samples, newSession);

  console.log(
    `\nreach-server under HTTP abuse (Node ${process.version}; RSS in MiB, as is / after full GC)\n`,
  );
  console.log(
    formatTable([
      ['state', 'RSS', 'RSS after GC', 'new session p50 (ms)', 'notes'],
      ['idle (baseline)', mib(idle.plain), mib(idle.gc), ms(baseline.p50), ''],
      [
        `after ${floodN} abandoned initialize`,
        mib(afterFlood.plain),
        mib(afterFlood.gc),
        ms(during.p50),
        `${stats.sessions} held, ${stats.evicted} evicted, ${(floodN / floodS).toFixed(0)} init/s`,
      ],
      ['before the bodies', mib(beforeBodies.plain), mib(beforeBodies.gc), '', ''],
      [
        `after ${bodiesN} × ${bodyMiB} MiB declared`,
        mib(afterDeclared.plain),
        mib(afterDeclared.gc),
        '',
        tally(declared),
      ],
      [
        `after ${bodiesN} × ${bodyMiB} MiB chunked`,
        mib(afterChunked.plain),
        mib(afterChunked.gc),
        ms(after.p50),
        tally(chunked),
      ],
    ]),
  );
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
