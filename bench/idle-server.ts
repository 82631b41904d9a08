/**
 * `npm run bench:idle-server`: the resident memory of an empty reach-server (no client, no MCP
 * session), this tree beside `--baseline` (a git revision, default `main`) in one run. Each round
 * starts both servers one after the other (alternating which goes first), as the service unit runs
 * them (`--max-semi-space-size=1`; `--node-options ''` for none), waits `--settle-ms`, reads RSS
 * from /proc (median of 5 readings: what an operator's `ps` shows), sends one MCP `initialize` +
 * tools/list and reads again (what the first MCP caller costs), then starts it once more with its
 * inspector on loopback and forces two full collections (what stays live). Printed: per server,
 * the median over `--rounds` of each figure, and bare Node's idle RSS with the same flags.
 *
 * With --cold every start gets a fresh compile cache: the figures of a first start after an
 * install or an upgrade (the after-GC figure is then a second start's).
 *
 * Flags: --rounds N (5), --baseline REF (main), --settle-ms N (5000), --node-options …, --cold.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ServerProcess, spawnServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { extractRevision } from './lib/git-revision-tree.ts';
import { formatTable, median } from './lib/measure.ts';
import { settledRss } from './lib/sim-fleet.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    baseline: { type: 'string', default: 'main' },
    'settle-ms': { type: 'string', default: '5000' },
    'node-options': { type: 'string', default: '--max-semi-space-size=1' },
    cold: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const settleMs = Number(values['settle-ms']);
const nodeFlags = values['node-options'].split(/\s+/).filter(Boolean);
const MIB = 2 ** 20;
const API_KEY = 'bench-idle-server-key-0123456789';
const say = (line: string): void => void process.stderr.write(`${line}\n`);

interface Reading {
  rss: number;
  live: number;
  afterMcp: number;
}

async function mcpFirstCall(port: number): Promise<void> {
  const headers = {
    authorization: `Bearer ${API_KEY}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  const init = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    }),
  });
  const session = init.headers.get('mcp-session-id') ?? '';
  await init.text();
  const list = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
  });
  if (!(await list.text()).includes('run_command')) throw new Error('tools/list did not list run_command');
}

async function measure(bin: string): Promise<Reading> {
  const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-idle-'));
  let server: ServerProcess | undefined;
  // --cold: the idle and first-MCP figures are a first start's (a fresh install or an upgrade).
  if (values.cold) process.env.REACH_COMPILE_CACHE = await mkdtemp(join(tmpdir(), 'reach-bench-idle-cold-'));
  try {
    // Without the inspector (its agent costs memory of its own): what `ps` shows, before and
    // after the first MCP caller.
    server = await spawnServerProcess(dataDir, ['--api-key', API_KEY], nodeFlags, bin);
    const rss = await settledRss(server, { settleMs });
    await mcpFirstCall(server.httpPort);
    const afterMcp = await settledRss(server, { settleMs: 2000 });
    await server.stop();
    // A second start with the inspector on loopback, two full collections: what stays live.
    server = await spawnServerProcess(
      dataDir,
      ['--api-key', API_KEY],
      [...nodeFlags, '--inspect=127.0.0.1:0'],
      bin,
    );
    const live = await settledRss(server, { settleMs, forceGc: true });
    return { rss, live, afterMcp };
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (values.cold) await rm(process.env.REACH_COMPILE_CACHE ?? '', { recursive: true, force: true });
  }
}

/** Bare node idling (the floor): `node -e 'setInterval(() => {}, 1e9)'` with the same flags. */
async function bareNode(): Promise<number> {
  const child = spawn(process.execPath, [...nodeFlags, '-e', 'setInterval(() => {}, 1e9)'], {
    stdio: 'ignore',
  });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const status = await import('node:fs/promises').then((fs) =>
      fs.readFile(`/proc/${child.pid}/status`, 'utf8'),
    );
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) * 1024;
  } finally {
    child.kill('SIGKILL');
  }
}

const tree = await extractRevision(values.baseline);
const label = `${values.baseline} (${tree.commit.slice(0, 8)})`;
// Both through their installed command (bin/reach-server.mjs), as npm, the unit and the Docker
// image start them: with the compile cache on, a warm process never loads Node's TypeScript
// stripper (~20 MiB of wasm; compile-cache.mjs). One fresh cache for the run, filled by a first
// start of each.
const LAUNCHER = 'packages/server/bin/reach-server.mjs';
const mineBin = join(import.meta.dirname, '..', LAUNCHER);
const theirBin = join(tree.root, LAUNCHER);
const cache = await mkdtemp(join(tmpdir(), 'reach-bench-idle-cache-'));
process.env.REACH_COMPILE_CACHE = cache;
for (const bin of values.cold ? [] : [mineBin, theirBin]) {
  const dir = await mkdtemp(join(tmpdir(), 'reach-bench-idle-'));
  const warm = await spawnServerProcess(dir, ['--api-key', API_KEY], nodeFlags, bin);
  await mcpFirstCall(warm.httpPort);
  await warm.stop();
  await rm(dir, { recursive: true, force: true });
}
const mine: Reading[] = [];
const theirs: Reading[] = [];
for (let i = 0; i < rounds; i++) {
  const order = i % 2 === 0 ? (['mine', 'theirs'] as const) : (['theirs', 'mine'] as const);
  for (const who of order) {
    const r = await measure(who === 'mine' ? mineBin : theirBin);
    (who === 'mine' ? mine : theirs).push(r);
    say(
      `round ${i + 1} ${who === 'mine' ? 'this tree' : label}: RSS ${(r.rss / MIB).toFixed(1)} MiB, after the first MCP call ${(r.afterMcp / MIB).toFixed(1)}, after GC (inspector) ${(r.live / MIB).toFixed(1)}`,
    );
  }
}
const floor = await bareNode();
const row = (name: string, rs: Reading[]) => [
  name,
  (median(rs.map((r) => r.rss)) / MIB).toFixed(1),
  (median(rs.map((r) => r.afterMcp)) / MIB).toFixed(1),
  (median(rs.map((r) => r.live)) / MIB).toFixed(1),
];
console.log(
  `\nEmpty reach-server${values.cold ? ', first start (fresh compile cache)' : ''}, median of ${rounds} rounds (Node ${process.version}, node flags: ${nodeFlags.join(' ') || 'none'}; target ≤ 72 MiB)\n`,
);
console.log(
  formatTable([
    ['server', 'idle RSS (MiB)', 'after first MCP call (MiB)', 'idle, after full GC, inspector on (MiB)'],
    row('this tree', mine),
    row(label, theirs),
    ['bare node', (floor / MIB).toFixed(1), '', ''],
  ]),
);
await tree.remove();
await rm(cache, { recursive: true, force: true });
