/**
 * The OpenSSH baseline shared by the benches: what an operator would do without Reach.
 *
 *   "client machine" sshd ◄── ssh -R Y:127.0.0.1:<client sshd> ── (reverse tunnel into) ── "server" sshd
 *   ssh -M (ControlMaster) ──► 127.0.0.1:Y (the tunnel's far end, on the server) ──► client sshd
 *   exec(cmd) = ssh -S <control socket> -p Y user@127.0.0.1 <cmd>
 *
 * Both daemons come from test-support/openssh.ts (loopback, ephemeral ports, own host keys). As root
 * the login user is a dedicated test user with a stock shell: root's own dotfiles on a developer
 * machine (pyenv init and the like) would make every exec look slower than OpenSSH really is.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import {
  ensureTestUser,
  freePort,
  generateKeyPair,
  isRoot,
  type SshdHandle,
  startSshd,
} from '../../test-support/openssh.ts';
import { stopChild } from '../../test-support/stop-child.ts';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface OpenSshBaseline {
  /** Login user on the "client machine". */
  user: string;
  /** The reverse tunnel's listening port on the "server" side. */
  tunnelPort: number;
  /** Runs `cmd` on the client machine through the multiplexed master (no shell on our side). */
  exec(cmd: string): Promise<ExecResult>;
  /** `ssh` arguments up to the remote command, through the master (for streaming stdin/stdout). */
  sshArgs: readonly string[];
  /** Stops the master, the tunnel and both daemons; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Test user for OpenSSH logins when running as root (its password is random and never used). */
const BENCH_USER = 'reachbench';

/** Sessions the master multiplexes at once: well above the benches' 64 in flight. */
const MAX_SESSIONS = 1000;

export async function startOpenSshBaseline(): Promise<OpenSshBaseline> {
  const dir = await mkdtemp(join(tmpdir(), 'reach-bench-ssh-'));
  const keyPath = join(dir, 'id_ed25519');
  const controlPath = join(dir, 'cm.sock');
  const children: ChildProcess[] = [];
  const daemons: SshdHandle[] = [];
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await new Promise<void>((resolve) => {
        execFile('ssh', ['-S', controlPath, '-O', 'exit', 'x'], () => resolve());
      });
      await Promise.all(children.map((c) => stopChild(c)));
      await Promise.all(daemons.map((d) => d.stop()));
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const publicKey = await generateKeyPair(keyPath);
    const user = isRoot()
      ? await ensureTestUser(BENCH_USER, randomBytes(18).toString('base64url'))
      : userInfo().username;
    // sshd takes the first value of a keyword; a Match block is the way to override MaxSessions.
    const extraConfig = ['Match all', `MaxSessions ${MAX_SESSIONS}`];
    const clientSshd = await startSshd({ authorizedKeys: [publicKey], extraConfig });
    daemons.push(clientSshd);
    const serverSshd = await startSshd({ authorizedKeys: [publicKey], extraConfig });
    daemons.push(serverSshd);

    const common = [
      '-i',
      keyPath,
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'IdentitiesOnly=yes',
    ];

    let tunnelPort = 0;
    for (let attempt = 1; ; attempt++) {
      tunnelPort = await freePort();
      const tunnel = spawnSsh([
        ...common,
        '-N',
        '-o',
        'ExitOnForwardFailure=yes',
        '-o',
        'ServerAliveInterval=15',
        '-R',
        `127.0.0.1:${tunnelPort}:127.0.0.1:${clientSshd.port}`,
        '-p',
        String(serverSshd.port),
        `${user}@127.0.0.1`,
      ]);
      children.push(tunnel.child);
      try {
        await waitFor(() => sshBannerAt(tunnelPort), 10_000, tunnel, 'reverse tunnel');
        break;
      } catch (err) {
        // Another process may have taken the port between freePort() and the bind: try another.
        if (attempt >= 5) throw err;
      }
    }

    const master = spawnSsh([
      ...common,
      '-M',
      '-S',
      controlPath,
      '-o',
      'ControlPersist=yes',
      '-N',
      '-p',
      String(tunnelPort),
      `${user}@127.0.0.1`,
    ]);
    children.push(master.child);
    // ControlPersist makes the master fork into the background once authenticated: the process we
    // spawned exits 0 then, and the master lives on until `-O exit` in stop().
    await waitFor(
      async () => (await run(['-S', controlPath, '-O', 'check', 'x'])).code === 0,
      10_000,
      master,
      'ControlMaster',
      true,
    );

    const execArgs = [...common, '-S', controlPath, '-p', String(tunnelPort), `${user}@127.0.0.1`];
    return {
      user,
      tunnelPort,
      exec: (cmd) => run([...execArgs, cmd]),
      sshArgs: execArgs,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface SpawnedSsh {
  child: ChildProcess;
  stderr(): string;
}

function spawnSsh(args: string[]): SpawnedSsh {
  const child = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-16_384);
  });
  return { child, stderr: () => stderr };
}

function run(args: string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile('ssh', args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 255;
      resolve({ stdout, stderr, code });
    });
  });
}

/** Resolves once something at 127.0.0.1:port speaks SSH (the tunnel forwards to the client sshd). */
function sshBannerAt(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')));
  });
}

async function waitFor(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  proc: SpawnedSsh,
  what: string,
  mayExitZero = false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const code = proc.child.exitCode;
    if (code !== null && !(mayExitZero && code === 0)) {
      throw new Error(`${what}: ssh exited (${code}): ${proc.stderr()}`);
    }
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms: ${proc.stderr()}`);
}
