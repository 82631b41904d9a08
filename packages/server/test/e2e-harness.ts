/**
 * End-to-end harness: real `reach` client processes (packages/client/src/bin.ts) with their own
 * REACH_HOME, and real `reach-server` processes (packages/server/src/bin.ts), on loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { authorizeKey } from '../src/commands/authorize.ts';

export const REPO = join(import.meta.dirname, '..', '..', '..');
const CLIENT_BIN = join(REPO, 'packages', 'client', 'src', 'bin.ts');
const SERVER_BIN = join(REPO, 'packages', 'server', 'src', 'bin.ts');

/** A clean environment: nothing REACH_* / ETPHONEHOME_* leaks in from the developer's shell. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('REACH_') && !k.startsWith('ETPHONEHOME_')) env[k] = v;
  }
  return { ...env, ...extra };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `reach <args>` to completion (setup commands, --list-clients). */
export function runReach(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLIENT_BIN, ...args], {
      env: baseEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    proc.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ClientHome {
  home: string;
  uuid: string;
  publicKey: string;
  env: Record<string, string>;
}

/**
 * `reach --init` and `--generate-key` in a fresh REACH_HOME; the key is authorized on the server
 * data dir unless `authorize` is false.
 */
export async function prepareClientHome(
  home: string,
  opts: { serverDataDir?: string; allowedPaths?: string[]; env?: Record<string, string> } = {},
): Promise<ClientHome> {
  const env: Record<string, string> = {
    REACH_HOME: home,
    REACH_RECONNECT_DELAY: '0.2',
    REACH_MAX_RECONNECT_DELAY: '1',
    REACH_LOG_LEVEL: 'info',
    ...(opts.allowedPaths ? { REACH_ALLOWED_PATHS: opts.allowedPaths.join(',') } : {}),
    ...opts.env,
  };
  for (const args of [['--init'], ['--generate-key']]) {
    const r = await runReach(args, env);
    if (r.code !== 0)
      throw new Error(`reach ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
  }
  const uuid = (await runReach(['--show-uuid'], env)).stdout.trim();
  const publicKey = (await readFile(join(home, 'id_ed25519.pub'), 'utf8')).trim();
  if (opts.serverDataDir) await authorizeKey(opts.serverDataDir, publicKey);
  return { home, uuid, publicKey, env };
}

export interface Proc {
  proc: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string | null>;
  /** SIGTERM, then SIGKILL after 3 s. Idempotent. */
  stop(): Promise<void>;
}

function track(proc: ChildProcess): Proc {
  let output = '';
  proc.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | string | null>((resolve) => {
    proc.on('exit', (code, signal) => resolve(code ?? signal));
  });
  return {
    proc,
    output: () => output,
    exited,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Starts the agent: `reach -s 127.0.0.1 -p <port>`. */
export function startClient(client: ClientHome, port: number, extraEnv: Record<string, string> = {}): Proc {
  return track(
    spawn(process.execPath, [CLIENT_BIN, '-s', '127.0.0.1', '-p', String(port)], {
      env: baseEnv({ ...client.env, ...extraEnv }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

export interface ServerProc extends Proc {
  sshPort: number;
  hostKeyFingerprint: string;
}

/** Spawns `reach-server --ssh-port <port|0>` and waits for its `ssh listening` log line. */
export async function startServerProcess(dataDir: string, sshPort = 0): Promise<ServerProc> {
  const p = track(
    spawn(
      process.execPath,
      [SERVER_BIN, '--ssh-host', '127.0.0.1', '--ssh-port', String(sshPort), '--data-dir', dataDir],
      { env: baseEnv({ REACH_LOG_LEVEL: 'info' }), stdio: ['pipe', 'pipe', 'pipe'] },
    ),
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    for (const line of p.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      const rec = JSON.parse(line) as { msg?: string; port?: number; hostKeyFingerprint?: string };
      if (rec.msg === 'ssh listening' && rec.port !== undefined) {
        return { ...p, sshPort: rec.port, hostKeyFingerprint: rec.hostKeyFingerprint ?? '' };
      }
    }
    if (p.proc.exitCode !== null || Date.now() > deadline) {
      await p.stop();
      throw new Error(`reach-server did not start:\n${p.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** VmRSS of a process in KiB (Linux). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)/.exec(status);
  if (!m) throw new Error('no VmRSS');
  return Number(m[1]);
}
