/**
 * `npm run bench:storm -- --clients 10000`: a server restart with a whole fleet connected.
 *
 * Simulated clients (bench:scale's fleet: one ssh2 connection each, own key, registered through
 * hello, answering heartbeats) reconnect exactly as the real client does: the same two functions
 * (packages/client/src/tunnel/retry-delay.ts) pick every delay — the server's retry hint when it
 * turned a connection away, the fleet window it announced at hello after a lost link, the
 * exponential backoff (5 s base, 300 s cap: the client's defaults) otherwise. Once all are online
 * the server process is SIGKILLed and started again on the same data directory and SSH port.
 * Printed: the time until every client is registered again (target ≤ 60 s), handshakes turned away
 * with a retry hint and other failed attempts, per-client time back (p50/p99/max), the longest
 * single wait any client chose, and how many gave up (the client never does) or waited past 5 min.
 *
 * The fleet runs in this one process beside the server on the same machine: its 10,000 handshakes
 * (ed25519 signatures, curve25519) take CPU the server would have to itself on a real fleet; the
 * CPU seconds each side used during the storm are printed, to say which one was the bottleneck.
 *
 * The same storm is then run against --baseline (a git revision, default `main`; `none` skips it)
 * in the same run, with the same keys and the same reconnect policy: only the server differs.
 *
 * Flags: --clients N (10000), --connect-concurrency N (50, the first connect only),
 * --timeout-s S (600: the bench gives up then and says so), --baseline REF (main).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseRetryHint } from '@reach/protocol';
import {
  failedConnectDelayMs,
  lostLinkDelayMs,
  type RetryPolicy,
} from '../packages/client/src/tunnel/retry-delay.ts';
import {
  authorizeSimKeys,
  generateSimKeys,
  type ManyClientsOptions,
} from '../packages/server/test/helpers/many-clients.ts';
import { type ServerProcess, spawnServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { startSimClient } from '../packages/server/test/helpers/start-sim-client.ts';
import { extractRevision } from './lib/git-revision-tree.ts';
import { formatTable, percentile } from './lib/measure.ts';
import { cpuSeconds } from './lib/sim-fleet.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    'connect-concurrency': { type: 'string', default: '50' },
    'timeout-s': { type: 'string', default: '600' },
    baseline: { type: 'string', default: 'main' },
  },
});
const total = Number(values.clients);
const concurrency = Number(values['connect-concurrency']);
const timeoutMs = Number(values['timeout-s']) * 1000;
const say = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** The client's config defaults (reconnect_delay 5 s, max_reconnect_delay 300 s). */
const POLICY: RetryPolicy = { reconnectDelayS: 5, maxReconnectDelayS: 300 };
const FIVE_MIN_MS = 300_000;

interface Fleet {
  /** When each client registered again after the kill (ms since the kill). */
  backAt: Map<number, number>;
  turnedAway: number;
  failed: number;
  longestWaitMs: number;
  waitsPast5Min: number;
  killedAt: number | undefined;
  stopping: boolean;
}

const keys = generateSimKeys(total);
const uuids = keys.map(() => crypto.randomUUID());

interface StormResult {
  label: string;
  listeningS: number;
  back: number[];
  fleet: Fleet;
  serverCpuS: number;
  fleetCpuS: number;
}

/** Connects the fleet to a fresh server (`bin`: another revision's, or this tree's), kills it, restarts it. */
async function storm(label: string, bin: string | undefined): Promise<StormResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-storm-'));
  await authorizeSimKeys(dataDir, keys);
  const serverArgs = ['--max-unauthenticated-per-source', String(total)];
  let server: ServerProcess = await spawnServerProcess(dataDir, serverArgs, [], bin);
  const sshPort = server.sshPort;
  const fleet: Fleet = {
    backAt: new Map(),
    turnedAway: 0,
    failed: 0,
    longestWaitMs: 0,
    waitsPast5Min: 0,
    killedAt: undefined,
    stopping: false,
  };

  /** One client's life: connect, serve until the link drops, wait as the real client would, again. */
  const live = async (index: number, first: () => void): Promise<void> => {
    let attempt = 0;
    let lostAt: number | undefined;
    let windowMs: number | undefined;
    const options: ManyClientsOptions = {
      port: sshPort,
      keys,
      timeoutMs: 60_000,
      uuidOf: () => uuids[index]!,
      onHello: (_i, params) => {
        const w = (params as { reconnect_window_ms?: unknown }).reconnect_window_ms;
        if (typeof w === 'number') windowMs = w;
      },
    };
    let told = false;
    while (!fleet.stopping) {
      const c = startSimClient(index, options);
      let delayMs: number;
      try {
        await c.registered;
        if (fleet.killedAt !== undefined && !fleet.backAt.has(index)) {
          fleet.backAt.set(index, Date.now() - fleet.killedAt);
        }
        if (!told) {
          told = true;
          first();
        }
        attempt = 0;
        await c.closed;
        lostAt = Date.now();
        delayMs = lostLinkDelayMs({ policy: POLICY, attempt: attempt++, established: true, windowMs });
      } catch {
        c.conn.destroy();
        const hintedMs = parseRetryHint(c.preamble());
        if (hintedMs === undefined) fleet.failed++;
        else fleet.turnedAway++;
        delayMs = failedConnectDelayMs({
          policy: POLICY,
          attempt: attempt++,
          hintedMs,
          windowMs,
          lostAt,
          now: Date.now(),
          refused: false,
        });
      }
      if (fleet.killedAt !== undefined) {
        fleet.longestWaitMs = Math.max(fleet.longestWaitMs, delayMs);
        if (delayMs > FIVE_MIN_MS) fleet.waitsPast5Min++;
      }
      await sleep(delayMs);
    }
  };

  try {
    say(`${label}: connecting ${total} simulated clients (${concurrency} handshakes at a time)…`);
    const t0 = performance.now();
    let next = 0;
    const starter = async (): Promise<void> => {
      while (next < total) {
        const index = next++;
        await new Promise<void>((resolve) => void live(index, resolve));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, starter));
    say(
      `${label}: ${total} online in ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting 5 s, then SIGKILL`,
    );
    await sleep(5000);

    fleet.killedAt = Date.now();
    server.child.kill('SIGKILL');
    await new Promise((r) => server.child.once('exit', r));
    server = await spawnServerProcess(dataDir, [...serverArgs, '--ssh-port', String(sshPort)], [], bin);
    const listeningS = (Date.now() - fleet.killedAt) / 1000;
    // Who the storm's CPU went to: the restarted server, or this process (the whole simulated fleet).
    const fleetCpu0 = process.cpuUsage();
    const serverCpu0 = await cpuSeconds(server.pid);
    const deadline = fleet.killedAt + timeoutMs;
    let lastReport = 0;
    while (fleet.backAt.size < total && Date.now() < deadline) {
      await sleep(250);
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        say(
          `${label}:  t=${((Date.now() - fleet.killedAt) / 1000).toFixed(0)} s: ${fleet.backAt.size} back, turned away ${fleet.turnedAway}, failed ${fleet.failed}`,
        );
      }
    }
    const serverCpuS = (await cpuSeconds(server.pid)) - serverCpu0;
    const fleetUsage = process.cpuUsage(fleetCpu0);
    return {
      label,
      listeningS,
      back: [...fleet.backAt.values()].sort((a, b) => a - b),
      fleet,
      serverCpuS,
      fleetCpuS: (fleetUsage.user + fleetUsage.system) / 1e6,
    };
  } finally {
    fleet.stopping = true;
    await server.stop().catch(() => {});
    // Every simulated connection ends with the server; their loops stop at their next wake-up.
    await sleep(2000);
    await rm(dataDir, { recursive: true, force: true });
  }
}

const results = [await storm('this tree', undefined)];
if (values.baseline !== 'none') {
  const tree = await extractRevision(values.baseline);
  try {
    results.push(await storm(`${values.baseline} (${tree.commit.slice(0, 8)})`, tree.serverBin));
  } finally {
    await tree.remove();
  }
}

const s = (ms: number) => (ms / 1000).toFixed(1);
console.log(
  `\nRestart storm: ${total} simulated clients, SIGKILL of reach-server and a restart (Node ${process.version}; target: all back ≤ 60 s, no wait past 5 min)\n`,
);
console.log(
  formatTable([
    [
      'server',
      'listening (s)',
      'all back (s)',
      'back p50 / p99 (s)',
      'turned away (hint)',
      'other failed tries',
      'longest wait (s)',
      'waits > 5 min',
      'CPU s: server / fleet',
    ],
    ...results.map((r) => [
      r.label,
      r.listeningS.toFixed(1),
      r.back.length === total ? s(r.back.at(-1)!) : `${r.back.length} of ${total} in ${timeoutMs / 1000}`,
      `${s(percentile(r.back, 50))} / ${s(percentile(r.back, 99))}`,
      String(r.fleet.turnedAway),
      String(r.fleet.failed),
      s(r.fleet.longestWaitMs),
      String(r.fleet.waitsPast5Min),
      `${r.serverCpuS.toFixed(1)} / ${r.fleetCpuS.toFixed(1)}`,
    ]),
  ]),
);
console.log(
  '\nclients that gave up: 0 (the client retries forever); other failed tries: refused while the server was down, resets, timeouts',
);
process.exit(0);
