/**
 * `npm run bench:terminal`: keystroke-to-echo round trip through the browser-terminal path —
 * WebSocket → server → SSH stream channel → client PTY and back — beside the same for `ssh -tt`
 * through an OpenSSH reverse tunnel (bench/lib/openssh-baseline.ts, as in bench:rtt). Both ends
 * run `cat > /dev/null` on a PTY, so each keystroke's echo is the terminal line discipline's
 * (no shell prompt, no readline): what is measured is the transport. Rounds alternate between
 * the two so both see the same machine load; each figure is the median over the rounds
 * (PITFALLS 13). Then the UI's figures from bench/ui.ts: the bundle gzipped without the terminal
 * chunk, and the dashboard's time to first render with 1,000 simulated clients.
 *
 * Flags: --rounds N (3), --keys N (1000), --json FILE.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import type { Transports } from '../packages/server/src/transports.ts';
import { startTransports } from '../packages/server/src/transports.ts';
import { formatTable, type LatencyStats, median, medianLatency, ms, sequential } from './lib/measure.ts';
import { startOpenSshBaseline } from './lib/openssh-baseline.ts';
import { startReach } from './lib/reach-under-test.ts';
import { BUNDLE_TARGET_BYTES, dashboardFirstRender, FIRST_RENDER_TARGET_MS, uiBundleSize } from './ui.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    keys: { type: 'string', default: '1000' },
    json: { type: 'string' },
  },
});
const int = (name: 'rounds' | 'keys'): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const rounds = int('rounds');
const keys = int('keys');
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** A terminal seen as bytes in and out; `typed` resolves when `want` more bytes of `ch` came back. */
interface EchoTerminal {
  send(text: string): void;
  /** Resolves once the output holds `count` occurrences of `ch` in total. */
  until(ch: string, count: number): Promise<void>;
  count(ch: string): number;
  close(): Promise<void>;
}

function echoCounter(): {
  feed(text: string): void;
  until(ch: string, n: number): Promise<void>;
  count(ch: string): number;
} {
  const counts = new Map<string, number>();
  let waiter: { ch: string; n: number; resolve: () => void } | undefined;
  return {
    feed(text) {
      for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
      if (waiter && (counts.get(waiter.ch) ?? 0) >= waiter.n) {
        const w = waiter;
        waiter = undefined;
        w.resolve();
      }
    },
    until(ch, n) {
      if ((counts.get(ch) ?? 0) >= n) return Promise.resolve();
      return new Promise((resolve) => {
        waiter = { ch, n, resolve };
      });
    },
    count: (ch) => counts.get(ch) ?? 0,
  };
}

async function openReachTerminal(port: number, uuid: string): Promise<EchoTerminal> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/clients/${uuid}/terminal?cols=80&rows=24`, {
    headers: { origin: `http://127.0.0.1:${port}` },
  });
  const echo = echoCounter();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  ws.on('message', (data, binary) => {
    if (binary) echo.feed(Buffer.from(data as Buffer).toString('utf8'));
    else if ((JSON.parse(String(data)) as { type: string }).type === 'ready') ready();
  });
  await isReady;
  // No Nagle on the browser side either (a browser sets TCP_NODELAY on WebSockets).
  return {
    send: (t) => ws.send(Buffer.from(t), { binary: true }),
    until: echo.until,
    count: echo.count,
    close: async () => {
      ws.close();
      await new Promise((r) => ws.once('close', r));
    },
  };
}

function openSshTerminal(sshArgs: readonly string[]): EchoTerminal {
  // A connection of its own through the tunnel: through the ControlMaster (-S) the mux client
  // forwarded no keystrokes from a piped stdin under -tt here (OpenSSH 9).
  const args = [...sshArgs];
  const s = args.indexOf('-S');
  if (s >= 0) args.splice(s, 2);
  const child = spawn('ssh', ['-tt', ...args, 'exec /bin/sh'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const echo = echoCounter();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => echo.feed(d));
  return {
    send: (t) => child.stdin.write(t),
    until: echo.until,
    count: echo.count,
    close: async () => {
      child.stdin.end();
      child.kill();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Starts `cat > /dev/null` in the terminal's shell and waits until it echoes. */
async function prepare(t: EchoTerminal): Promise<void> {
  t.send('exec cat > /dev/null\r');
  // The marker only comes back as an echo once cat runs (the shell line is consumed first).
  await t.until('\n', 1);
  t.send('#');
  await t.until('#', 1);
}

/** `n` keystrokes, each timed from write to its echo; a line ends every 64 (untimed). */
async function keystrokes(t: EchoTerminal, n: number): Promise<LatencyStats> {
  let typed = t.count('k');
  let inLine = 0;
  return sequential(n, async () => {
    typed++;
    t.send('k');
    await t.until('k', typed);
    if (++inLine === 64) {
      inLine = 0;
      const lines = t.count('\n');
      t.send('\r');
      await t.until('\n', lines + 1);
    }
  });
}

log('starting Reach (server in-process with HTTP, client process) and the OpenSSH baseline…');
let transports: Transports | undefined;
const reach = await startReach({
  serverArgs: ['--transport', 'http', '--port', '0', '--host', '127.0.0.1'],
  startTransports: async (services, config, l) => {
    transports = await startTransports(services, config, l);
    return transports;
  },
});
const ssh = await startOpenSshBaseline().catch(async (err: unknown) => {
  await reach.stop();
  throw err;
});

try {
  const port = transports?.httpPort;
  if (port === undefined) throw new Error('HTTP did not start');
  const reachRounds: LatencyStats[] = [];
  const sshRounds: LatencyStats[] = [];
  for (let round = 1; round <= rounds; round++) {
    const r = await openReachTerminal(port, reach.uuid);
    await prepare(r);
    await keystrokes(r, 50);
    reachRounds.push(await keystrokes(r, keys));
    await r.close();
    const s = openSshTerminal(ssh.sshArgs);
    await prepare(s);
    await keystrokes(s, 50);
    sshRounds.push(await keystrokes(s, keys));
    await s.close();
    log(
      `round ${round}/${rounds}: Reach p50 ${ms(reachRounds.at(-1)!.p50)} ms p99 ${ms(reachRounds.at(-1)!.p99)} ms; ` +
        `OpenSSH p50 ${ms(sshRounds.at(-1)!.p50)} ms p99 ${ms(sshRounds.at(-1)!.p99)} ms`,
    );
  }
  const r = medianLatency(reachRounds);
  const s = medianLatency(sshRounds);
  const ratio = median(reachRounds.map((x, i) => sshRounds[i]!.p50 / x.p50));
  console.log(
    `\nkeystroke → echo round trip, ${keys} keystrokes — median of ${rounds} rounds — ${os.cpus().length} CPUs, Node ${process.version}\n`,
  );
  console.log(
    formatTable([
      ['path', 'p50 ms', 'p99 ms', 'mean ms'],
      ['Reach: WebSocket → server → SSH → client PTY', ms(r.p50), ms(r.p99), ms(r.mean)],
      ['OpenSSH: ssh -tt through a reverse tunnel', ms(s.p50), ms(s.p99), ms(s.mean)],
    ]),
  );
  console.log(
    `\nOpenSSH p50 / Reach p50 (median of per-round ratios): ${ratio.toFixed(2)}× (target: p50 ≤ 3 ms and ≥ 1×)`,
  );
  // The UI's half of the figures (bench/ui.ts): bundle size and first render at 1,000 clients.
  const size = await uiBundleSize();
  console.log(
    `\nui bundle (gzip -9, without the terminal chunk): ${(size.gzip_bytes / 1000).toFixed(1)} KB ` +
      `(target ≤ ${BUNDLE_TARGET_BYTES / 1000} KB); terminal chunk ${(size.terminal_gzip_bytes / 1000).toFixed(1)} KB`,
  );
  const render = await dashboardFirstRender({ clients: 1000, loads: 5 });
  console.log(
    `dashboard first render, ${render.clients} clients: cold ${render.cold_ms} ms, warm median ` +
      `${render.warm_median_ms} ms (target ≤ ${FIRST_RENDER_TARGET_MS} ms)`,
  );
  if (values.json) {
    await writeFile(
      values.json,
      `${JSON.stringify({ keys, rounds, reach: r, openssh: s, ratio, reachRounds, sshRounds }, null, 2)}\n`,
    );
  }
} finally {
  await ssh.stop();
  await reach.stop();
}
