/**
 * `npm run bench:transfer`: a 1 GiB file uploaded to and downloaded from a client through Reach
 * (TransferService, the code behind upload_file/download_file; server in-process, a real client
 * process over loopback SSH) beside the same file through OpenSSH (`ssh … 'cat > file'` and
 * `ssh … cat file` through a ControlMaster over an `ssh -R` reverse tunnel to a loopback sshd).
 * Rounds alternate Reach and OpenSSH so both see the same load; figures are medians (PITFALLS 13).
 * Server RSS growth is sampled during each Reach transfer (the server runs in this process).
 *
 * Each transfer writes a new file, as `cat > file` (which truncates first) effectively does;
 * `--overwrite` makes Reach replace the previous round's file instead (atomic replace keeps the old
 * file until the rename, so it needs twice the page cache, which costs more on some VMs).
 *
 * Flags: --size-mib N (1024), --rounds N (5), --overwrite, --json FILE, --client-exe PATH (a single
 * executable as the client instead of node on the source; bench:release uses it).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { median } from './lib/measure.ts';
import { startOpenSshBaseline } from './lib/openssh-baseline.ts';
import { startReach } from './lib/reach-under-test.ts';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '5' },
    overwrite: { type: 'boolean', default: false },
    json: { type: 'string' },
    'client-exe': { type: 'string' },
  },
});
const sizeMib = Number(values['size-mib']);
const rounds = Number(values.rounds);
if (!Number.isInteger(sizeMib) || sizeMib < 1) throw new Error('--size-mib must be a positive integer');
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
const MIB = 1024 * 1024;
const size = sizeMib * MIB;

/**
 * Flushes every dirty page before a timed transfer. `cat > file` leaves its file to the kernel's
 * writeback, which would otherwise run (after dirty_expire, ~30 s) during a later transfer and bill
 * it; Reach's own fsyncs stay inside its timing.
 */
const settle = async (): Promise<void> => {
  await promisify(execFile)('sync');
};

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function writeRandomFile(path: string): Promise<string> {
  const block = randomBytes(MIB);
  const hash = createHash('sha256');
  const fh = await open(path, 'w');
  try {
    for (let i = 0; i < sizeMib; i++) {
      block.writeUInt32BE(i, 0);
      hash.update(block);
      await fh.write(block);
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/**
 * Runs `ssh <args> <cmd>` with stdin from `input` or stdout to `output`, given to ssh as file
 * descriptors (as a shell redirection would: no copy through this process); resolves with seconds.
 */
async function timedSsh(
  args: readonly string[],
  cmd: string,
  io: { input?: string; output?: string },
): Promise<number> {
  const fh = io.input ? await open(io.input, 'r') : io.output ? await open(io.output, 'w') : undefined;
  try {
    return await new Promise((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn('ssh', [...args, cmd], {
        stdio: [io.input ? fh!.fd : 'ignore', io.output ? fh!.fd : 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4096);
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve((performance.now() - t0) / 1000);
        else reject(new Error(`ssh ${cmd} exited ${code}: ${stderr}`));
      });
    });
  } finally {
    await fh?.close();
  }
}

/** CPU seconds (user, system) a process has used, from /proc (Linux clock ticks are 1/100 s). */
function procCpu(pid: number): [number, number] {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return [Number(fields[11]) / 100, Number(fields[12]) / 100];
}

interface Measured<T> {
  value: T;
  growth: number;
  /** CPU seconds over the transfer: user and system, the server (this process) and the client. */
  cpu: { server: [number, number]; client: [number, number] };
}

/**
 * Runs `work`, sampling this process's RSS every 100 ms (every 20 ms cost the server ~2% of a CPU:
 * each sample reads /proc/self/statm) for the peak growth in bytes, and the CPU both sides spent.
 */
async function measured<T>(clientPid: number, work: () => Promise<T>): Promise<Measured<T>> {
  global.gc?.();
  const base = process.memoryUsage.rss();
  const server0 = process.cpuUsage();
  const client0 = procCpu(clientPid);
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 100);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    const server = process.cpuUsage(server0);
    const client = procCpu(clientPid);
    return {
      value,
      growth: peak - base,
      cpu: {
        server: [server.user / 1e6, server.system / 1e6],
        client: [client[0] - client0[0], client[1] - client0[1]],
      },
    };
  } finally {
    clearInterval(timer);
  }
}

function cpuLine(cpu: Measured<unknown>['cpu']): string {
  const f = ([u, s]: [number, number]): string => `${u.toFixed(2)}+${s.toFixed(2)}`;
  return `server ${f(cpu.server)}, client ${f(cpu.client)}`;
}

const work = await mkdtemp(join(tmpdir(), 'reach-bench-transfer-'));
log(
  `starting Reach (server in-process, client process) and the OpenSSH baseline; ${sizeMib} MiB, ${rounds} rounds…`,
);
const reach = await startReach(values['client-exe'] === undefined ? {} : { clientExe: values['client-exe'] });
const ssh = await startOpenSshBaseline().catch(async (err: unknown) => {
  await reach.stop();
  throw err;
});
const transfers = reach.server.services.transfers;
const root = transfers.roots[0]!;

try {
  const source = join(root, 'bench.bin');
  const wantSha = await writeRandomFile(source);
  // The OpenSSH login user may not be us (a test user when root): give it a place to write.
  const sshDir = (await ssh.exec('mktemp -d')).stdout.trim();
  const results = {
    reachUp: [] as number[],
    reachDown: [] as number[],
    sshUp: [] as number[],
    sshDown: [] as number[],
  };
  const rss: number[] = [];
  const remote = join(work, 'client-side.bin');

  // A 64 MiB round trip through each first: a first transfer also pays one-time costs (JIT,
  // pools, ssh's ControlMaster session), which are not what this compares.
  const warm = join(root, 'warm.bin');
  await writeFile(warm, randomBytes(64 * MIB));
  await timedSsh(ssh.sshArgs, `cat > ${sshDir}/warm.bin`, { input: warm });
  await timedSsh(ssh.sshArgs, `cat ${sshDir}/warm.bin`, { output: join(work, 'warm-back.bin') });
  await transfers.upload({
    clientUuid: reach.uuid,
    localPath: warm,
    remotePath: remote,
    overwrite: true,
    resume: false,
  });
  await transfers.download({
    clientUuid: reach.uuid,
    remotePath: remote,
    localPath: 'warm-back.bin',
    resume: false,
  });

  const reachBack = join(root, 'bench-back.bin');
  for (let round = 1; round <= rounds; round++) {
    // Every transfer starts by dropping the previous round's copy, as `cat > file` does by
    // truncating it (and the bench's own `> file` for OpenSSH downloads), then writes a new file.
    // Replacing an existing file atomically keeps the old one until the rename, so it needs twice
    // the page cache; that case is `--overwrite`.
    await settle();
    if (!values.overwrite) await rm(remote, { force: true });
    const up = await measured(reach.clientPid, () =>
      transfers.upload({
        clientUuid: reach.uuid,
        localPath: source,
        remotePath: remote,
        overwrite: true,
        resume: false,
      }),
    );
    if (up.value.sha256 !== wantSha) throw new Error('Reach upload: sha256 differs');
    results.reachUp.push(size / MIB / (up.value.duration_ms / 1000));
    rss.push(up.growth);

    await settle();
    if (!values.overwrite) await rm(reachBack, { force: true });
    const down = await measured(reach.clientPid, () =>
      transfers.download({
        clientUuid: reach.uuid,
        remotePath: remote,
        localPath: 'bench-back.bin',
        resume: false,
      }),
    );
    if (down.value.sha256 !== wantSha) throw new Error('Reach download: sha256 differs');
    results.reachDown.push(size / MIB / (down.value.duration_ms / 1000));
    rss.push(down.growth);

    await settle();
    const sshUpS = await timedSsh(ssh.sshArgs, `cat > ${sshDir}/bench.bin`, { input: source });
    results.sshUp.push(size / MIB / sshUpS);
    const back = join(work, 'ssh-back.bin');
    await settle();
    const sshDownS = await timedSsh(ssh.sshArgs, `cat ${sshDir}/bench.bin`, { output: back });
    results.sshDown.push(size / MIB / sshDownS);
    log(
      `round ${round}: Reach up ${results.reachUp.at(-1)!.toFixed(0)} / down ${results.reachDown.at(-1)!.toFixed(0)} MiB/s; ` +
        `OpenSSH up ${results.sshUp.at(-1)!.toFixed(0)} / down ${results.sshDown.at(-1)!.toFixed(0)} MiB/s; ` +
        `server RSS +${(Math.max(up.growth, down.growth) / MIB).toFixed(1)} MiB`,
    );
    log(`  CPU s (user+sys): up ${cpuLine(up.cpu)}; down ${cpuLine(down.cpu)}`);
  }
  await ssh.exec(`rm -rf ${sshDir}`);

  const m = {
    reach_up_mib_s: median(results.reachUp),
    reach_down_mib_s: median(results.reachDown),
    openssh_up_mib_s: median(results.sshUp),
    openssh_down_mib_s: median(results.sshDown),
    server_rss_growth_mib: Math.max(...rss) / MIB,
  };
  const ratioUp = m.reach_up_mib_s / m.openssh_up_mib_s;
  const ratioDown = m.reach_down_mib_s / m.openssh_down_mib_s;
  const line = (name: string, reachV: number, sshV: number, ratio: number): string =>
    `${name.padEnd(10)} ${reachV.toFixed(0).padStart(8)} ${sshV.toFixed(0).padStart(10)} ${ratio.toFixed(2).padStart(7)}×  ${ratio >= 1.5 ? 'ok' : 'below target'}`;
  console.log(`\n${sizeMib} MiB file, median of ${rounds} rounds (MiB/s)`);
  console.log(
    `${'direction'.padEnd(10)} ${'Reach'.padStart(8)} ${'OpenSSH'.padStart(10)} ${'ratio'.padStart(8)}  (target ≥ 1.5×)`,
  );
  console.log(line('upload', m.reach_up_mib_s, m.openssh_up_mib_s, ratioUp));
  console.log(line('download', m.reach_down_mib_s, m.openssh_down_mib_s, ratioDown));
  console.log(
    `server RSS growth during a Reach transfer: ${m.server_rss_growth_mib.toFixed(1)} MiB (target < 64 MiB) ${m.server_rss_growth_mib < 64 ? 'ok' : 'over target'}`,
  );
  if (values.json) {
    await writeFile(
      values.json,
      `${JSON.stringify({ size_mib: sizeMib, rounds, ...m, ratio_up: ratioUp, ratio_down: ratioDown, samples: results }, null, 2)}\n`,
    );
  }
} finally {
  await ssh.stop();
  await reach.stop();
  await rm(work, { recursive: true, force: true });
}
