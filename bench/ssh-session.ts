/**
 * `npm run bench:ssh-session`: latency of `ssh_session_command {command: "true"}` in an open onward
 * session (the client's ssh2 PTY shell, handlers called in-process) against a loopback OpenSSH sshd,
 * beside the same sshd reached with OpenSSH `ssh` through a ControlMaster (`ssh -S sock host true`,
 * one multiplexed exec per call). Rounds alternate; figures are medians over rounds (PITFALLS 13).
 *
 * Flags: --rounds N (3), --seq N (500), --ssh-seq N (100).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createSshSessionHandlers } from '../packages/client/src/ssh-sessions/handlers.ts';
import { ensureTestUser, generateKeyPair, startSshd } from '../test-support/openssh.ts';
import { formatTable, type LatencyStats, medianLatency, ms, sequential } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seq: { type: 'string', default: '500' },
    'ssh-seq': { type: 'string', default: '100' },
  },
});
const rounds = Number(values.rounds);
const seqN = Number(values.seq);
const sshSeqN = Number(values['ssh-seq']);
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const dir = await mkdtemp(join(os.tmpdir(), 'reach-bench-ssh-session-'));
const keyFile = join(dir, 'id_ed25519');
// A plain test user (as root): root's own shell startup files would be timed on every OpenSSH exec.
const user = await ensureTestUser('reachtest', randomBytes(12).toString('hex'));
const sshd = await startSshd({ authorizedKeys: [await generateKeyPair(keyFile)] });
const sessions = createSshSessionHandlers({
  configDir: join(dir, 'client'),
  log: pino({ level: 'silent' }),
  sweepIntervalMs: 0,
});
const controlPath = join(dir, 'cm.sock');
const sshArgs = [
  '-o',
  'BatchMode=yes',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
  '-o',
  'LogLevel=ERROR',
  '-i',
  keyFile,
  '-p',
  String(sshd.port),
  '-S',
  controlPath,
];
const master = spawn('ssh', [...sshArgs, '-M', '-N', `${user}@127.0.0.1`], { stdio: 'ignore' });

const sshRun = (options: string[], command: string[] = []): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile('ssh', [...sshArgs, ...options, `${user}@127.0.0.1`, ...command], (err) =>
      err ? reject(err) : resolve(),
    );
  });
const sshTrue = (): Promise<void> => sshRun(['-o', 'ControlMaster=no'], ['true']);

try {
  const signal = new AbortController().signal;
  const call = async (method: string, params: unknown): Promise<Record<string, unknown>> => {
    const handler = sessions.handlers.get(method);
    if (handler === undefined) throw new Error(`no handler ${method}`);
    return (await handler(params, { id: 1, method, signal })) as Record<string, unknown>;
  };
  const opened = await call('ssh_session_open', {
    host: '127.0.0.1',
    port: sshd.port,
    username: user,
    key_file: keyFile,
  });
  const sessionId = opened.session_id as string;
  const reachTrue = async (): Promise<void> => {
    const r = await call('ssh_session_command', { session_id: sessionId, command: 'true' });
    if (r.exit_code !== 0) throw new Error(`unexpected exit code ${String(r.exit_code)}`);
  };
  // Wait for the ControlMaster: without it `ssh -S` would silently open full connections.
  for (let i = 0; ; i++) {
    try {
      await sshRun(['-O', 'check']);
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await sequential(50, reachTrue);
  await sequential(10, sshTrue);

  const reachRounds: LatencyStats[] = [];
  const sshRounds: LatencyStats[] = [];
  for (let round = 1; round <= rounds; round++) {
    reachRounds.push(await sequential(seqN, reachTrue));
    sshRounds.push(await sequential(sshSeqN, sshTrue));
    log(`round ${round}/${rounds} done`);
  }
  const reach = medianLatency(reachRounds);
  const openssh = medianLatency(sshRounds);
  console.log(
    `ssh_session_command "true" in an open session vs OpenSSH ControlMaster exec (median of ${rounds} rounds; ${os.cpus().length} cores)`,
  );
  console.log(
    formatTable([
      ['path', 'n', 'p50 ms', 'p99 ms', 'mean ms'],
      ['reach ssh_session_command', String(reach.n), ms(reach.p50), ms(reach.p99), ms(reach.mean)],
      [
        'openssh ssh -S (ControlMaster)',
        String(openssh.n),
        ms(openssh.p50),
        ms(openssh.p99),
        ms(openssh.mean),
      ],
    ]),
  );
  console.log(`p50 ratio openssh / reach: ${(openssh.p50 / reach.p50).toFixed(1)}×`);
} finally {
  master.kill();
  await sessions.close();
  await sshd.stop();
  await rm(dir, { recursive: true, force: true });
}
