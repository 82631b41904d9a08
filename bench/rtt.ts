/**
 * `npm run bench:rtt`: round trip of `run_command true` through Reach (server in-process, a real
 * client process over loopback SSH) beside two baselines: the same with the client's shell pool
 * off (REACH_SHELL_POOL=0: every command a plain Node spawn) and OpenSSH (ssh with a ControlMaster
 * through an `ssh -R` reverse tunnel to a loopback sshd). Rounds alternate between them so all see
 * the same machine load; each figure is the median over the rounds (PITFALLS 13).
 *
 * Flags: --rounds N (3), --seq N (1000), --calls N (2000), --concurrency N (64),
 *        --ssh-seq N (200), --ssh-calls N (320), --paced N (200), --gap-ms N (20), --json FILE,
 *        --client-node-options '…' (node flags of both Reach clients; default the service unit's
 *        `--max-semi-space-size=1`, '' for node's defaults: see reach-under-test.ts).
 * "paced" calls wait --gap-ms before each, as an assistant's calls do (seconds apart in real use):
 * the pool refills in such a pause, so this is where it shows; back to back it finds the pool
 * empty and spawns the plain way.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  concurrent,
  formatTable,
  type LatencyStats,
  median,
  medianLatency,
  medianThroughput,
  ms,
  sequential,
  type ThroughputStats,
} from './lib/measure.ts';
import { startOpenSshBaseline } from './lib/openssh-baseline.ts';
import { CLIENT_NODE_OPTIONS, clientNodeFlagsOf, startReach } from './lib/reach-under-test.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seq: { type: 'string', default: '1000' },
    calls: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    'ssh-seq': { type: 'string', default: '200' },
    'ssh-calls': { type: 'string', default: '320' },
    paced: { type: 'string', default: '200' },
    'gap-ms': { type: 'string', default: '20' },
    'client-node-options': CLIENT_NODE_OPTIONS,
    json: { type: 'string' },
  },
});
const int = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const rounds = int('rounds');
const seqN = int('seq');
const callsN = int('calls');
const concurrency = int('concurrency');
const sshSeqN = int('ssh-seq');
const sshCallsN = int('ssh-calls');
const pacedN = int('paced');
const gapMs = int('gap-ms');

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

log('starting Reach (server in-process, client process), Reach with plain spawns and OpenSSH…');
const { flags: clientNodeFlags, described: clientRun } = clientNodeFlagsOf(values['client-node-options']);
const reach = await startReach({ clientNodeFlags });
const plain = await startReach({ clientEnv: { REACH_SHELL_POOL: '0' }, clientNodeFlags }).catch(
  async (err: unknown) => {
    await reach.stop();
    throw err;
  },
);
const ssh = await startOpenSshBaseline().catch(async (err: unknown) => {
  await plain.stop();
  await reach.stop();
  throw err;
});

try {
  const callOf = (under: typeof reach) => async (): Promise<void> => {
    const r = await under.server.services.clients.call(under.uuid, 'run_command', { cmd: 'true' });
    if (r.returncode !== 0) throw new Error(`run_command true returned ${r.returncode}`);
  };
  const reachCall = callOf(reach);
  const plainCall = callOf(plain);
  // Two figures that explain the run_command one: the agent's RPC round trip with no process
  // started (heartbeat), and what starting `/bin/sh -c true` costs a Node process on this machine.
  const online = reach.server.services.clients.onlineClient(reach.uuid);
  const rpcCall = (): Promise<unknown> => online.agent.call('heartbeat', {});
  const localSpawn = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', 'true'], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('close', () => resolve());
    });
  const sshCall = async (): Promise<void> => {
    const r = await ssh.exec('true');
    if (r.code !== 0) throw new Error(`ssh exec true exited ${r.code}: ${r.stderr}`);
  };

  log('warming up…');
  await sequential(100, reachCall);
  await sequential(100, plainCall);
  await sequential(10, sshCall);

  const rpcSeq: LatencyStats[] = [];
  const spawnSeq: LatencyStats[] = [];
  const reachSeq: LatencyStats[] = [];
  const reachConc: ThroughputStats[] = [];
  const plainSeq: LatencyStats[] = [];
  const plainConc: ThroughputStats[] = [];
  const reachPaced: LatencyStats[] = [];
  const plainPaced: LatencyStats[] = [];
  const sshSeq: LatencyStats[] = [];
  const sshConc: ThroughputStats[] = [];
  for (let round = 1; round <= rounds; round++) {
    rpcSeq.push(await sequential(seqN, rpcCall));
    spawnSeq.push(await sequential(Math.min(seqN, 200), localSpawn));
    reachSeq.push(await sequential(seqN, reachCall));
    reachConc.push(await concurrent(callsN, concurrency, reachCall));
    plainSeq.push(await sequential(seqN, plainCall));
    plainConc.push(await concurrent(callsN, concurrency, plainCall));
    reachPaced.push(await sequential(pacedN, reachCall, gapMs));
    plainPaced.push(await sequential(pacedN, plainCall, gapMs));
    sshSeq.push(await sequential(sshSeqN, sshCall));
    sshConc.push(await concurrent(sshCallsN, concurrency, sshCall));
    log(
      `round ${round}/${rounds}: Reach p50 ${ms(reachSeq.at(-1)!.p50)} ms, ` +
        `${reachConc.at(-1)!.callsPerSecond.toFixed(0)} calls/s; plain spawn p50 ${ms(plainSeq.at(-1)!.p50)} ms, ` +
        `${plainConc.at(-1)!.callsPerSecond.toFixed(0)} calls/s; OpenSSH p50 ${ms(sshSeq.at(-1)!.p50)} ms, ` +
        `${sshConc.at(-1)!.callsPerSecond.toFixed(0)} calls/s`,
    );
  }

  const rpc = medianLatency(rpcSeq);
  const sp = medianLatency(spawnSeq);
  const r = medianLatency(reachSeq);
  const s = medianLatency(sshSeq);
  const rc = medianThroughput(reachConc);
  const pl = medianLatency(plainSeq);
  const pc = medianThroughput(plainConc);
  const rp = medianLatency(reachPaced);
  const pp = medianLatency(plainPaced);
  const sc = medianThroughput(sshConc);
  const ratio = (x: number): string => `${x.toFixed(1)}×`;
  // Load on a shared 2-core machine moves both sides together: each ratio is taken within a round,
  // and the table shows the median of the per-round ratios.
  const p50Ratio = median(reachSeq.map((x, i) => sshSeq[i]!.p50 / x.p50));
  const throughputRatio = median(reachConc.map((x, i) => x.callsPerSecond / sshConc[i]!.callsPerSecond));

  console.log(
    `\nrun_command "true" round trip — median of ${rounds} rounds — ${os.cpus().length} CPUs, Node ${process.version}\n`,
  );
  console.log(
    formatTable([
      ['', 'Reach', 'Reach, plain spawn', 'OpenSSH', 'OpenSSH / Reach'],
      ['sequential calls per round', String(r.n), String(pl.n), String(s.n), ''],
      ['p50 (ms)', ms(r.p50), ms(pl.p50), ms(s.p50), ratio(p50Ratio)],
      [
        'p99 (ms)',
        ms(r.p99),
        ms(pl.p99),
        ms(s.p99),
        ratio(median(reachSeq.map((x, i) => sshSeq[i]!.p99 / x.p99))),
      ],
      [
        'mean (ms)',
        ms(r.mean),
        ms(pl.mean),
        ms(s.mean),
        ratio(median(reachSeq.map((x, i) => sshSeq[i]!.mean / x.mean))),
      ],
      [`paced (${gapMs} ms between): p50 (ms)`, ms(rp.p50), ms(pp.p50), '', ''],
      [`paced (${gapMs} ms between): p99 (ms)`, ms(rp.p99), ms(pp.p99), '', ''],
      [`concurrent: calls per round`, String(rc.calls), String(pc.calls), String(sc.calls), ''],
      [`concurrent: in flight`, String(rc.concurrency), String(pc.concurrency), String(sc.concurrency), ''],
      [
        'concurrent: calls/s',
        rc.callsPerSecond.toFixed(0),
        pc.callsPerSecond.toFixed(0),
        sc.callsPerSecond.toFixed(1),
        ratio(throughputRatio),
      ],
    ]),
  );
  console.log(
    `\nper round (p50 ms, Reach / plain spawn / OpenSSH / ratio): ${reachSeq
      .map(
        (x, i) =>
          `${ms(x.p50)} / ${ms(plainSeq[i]!.p50)} / ${ms(sshSeq[i]!.p50)} / ${ratio(sshSeq[i]!.p50 / x.p50)}`,
      )
      .join('; ')}`,
  );
  console.log(
    `\nfor reference (median of ${rounds} rounds):\n` +
      `  Reach agent RPC round trip, no process started (heartbeat): p50 ${ms(rpc.p50)} ms, p99 ${ms(rpc.p99)} ms\n` +
      `  Node spawn of /bin/sh -c true on this machine (the floor under run_command): p50 ${ms(sp.p50)} ms, ` +
      `p99 ${ms(sp.p99)} ms`,
  );
  console.log(
    `\nOpenSSH: ssh -S <ControlMaster> through ssh -R to a loopback sshd (user ${ssh.user}); ` +
      `fewer calls than Reach because each exec spawns an ssh process.`,
  );
  console.log(`Reach clients: ${clientRun}.`);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  console.log(`target p50 ≤ 3 ms (run_command true): ${verdict(r.p50 <= 3)} (${ms(r.p50)} ms)`);
  console.log(`target ≥ 15× faster than OpenSSH (p50): ${verdict(p50Ratio >= 15)} (${ratio(p50Ratio)})`);
  const poolRatio = (a: LatencyStats[], b: LatencyStats[]) =>
    ratio(median(a.map((x, i) => b[i]!.p50 / x.p50)));
  console.log(
    `shell pool against plain spawns, same run (plain / pool): p50 back to back ${poolRatio(reachSeq, plainSeq)}, ` +
      `paced ${poolRatio(reachPaced, plainPaced)} (${ms(rp.p50)} vs ${ms(pp.p50)} ms); ` +
      `concurrent calls/s ${ratio(median(reachConc.map((x, i) => x.callsPerSecond / plainConc[i]!.callsPerSecond)))}`,
  );

  if (values.json) {
    await writeFile(
      values.json,
      `${JSON.stringify(
        {
          rounds,
          rpc,
          spawn: sp,
          reach: { seq: r, conc: rc },
          plainSpawn: { seq: pl, conc: pc, paced: pp },
          paced: { gapMs, reach: rp },
          openssh: { seq: s, conc: sc },
        },
        null,
        2,
      )}\n`,
    );
  }
} finally {
  await ssh.stop();
  await plain.stop();
  await reach.stop();
}
