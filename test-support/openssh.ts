/**
 * Test harness: real OpenSSH `sshd` daemons on 127.0.0.1, each with its own host key, config and
 * authorized_keys in a temp dir, on an ephemeral port. Used by integration tests and benchmarks.
 * Requires /usr/sbin/sshd (Debian openssh-server). Password auth for a test user needs root.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stopChild } from './stop-child.ts';

const execFileAsync = promisify(execFile);

export const SSHD_PATH = '/usr/sbin/sshd';

export interface StartSshdOptions {
  /** Public key lines (OpenSSH format) written to the daemon's authorized_keys file. */
  authorizedKeys?: string[];
  /** Default false. */
  passwordAuthentication?: boolean;
  /** Default 'yes' when running as root (tests log in as root), else 'no'. */
  permitRootLogin?: 'yes' | 'no' | 'prohibit-password';
  /** Default true (jump hosts need it). */
  allowTcpForwarding?: boolean;
  /** Listen on this port instead of a fresh ephemeral one (e.g. to restart on the same port). */
  port?: number;
  /** Reuse this host private key (its `.pub` must sit beside it); by default a new ed25519 key. */
  hostKeyPath?: string;
  /** Extra sshd_config lines appended verbatim. */
  extraConfig?: string[];
  /** How long to wait for "Server listening", in ms (default 10 s). */
  startTimeoutMs?: number;
}

export interface SshdHandle {
  port: number;
  /** `SHA256:<base64 without padding>` of the host key, as OpenSSH prints it. */
  hostKeyFingerprint: string;
  /** The host public key line, `ssh-ed25519 AAAA… comment`. */
  hostPublicKey: string;
  /** Path of the host private key (pass as `hostKeyPath` to restart with the same key). */
  hostKeyPath: string;
  /** The daemon's temp dir (config, keys, authorized_keys); removed by stop(). */
  dir: string;
  /** What sshd wrote to stderr so far (-e), for diagnosing failures. */
  logs(): string;
  /** Stops the daemon (SIGTERM, then SIGKILL) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** SHA256 fingerprint of an OpenSSH public key line, formatted as `SHA256:…` like ssh-keygen -l. */
export function fingerprintOf(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (blob === undefined) throw new Error('not an OpenSSH public key line');
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/** Lowest port the kernel hands out for a bind to port 0 or an outgoing connection (32768 by default). */
function ephemeralLow(): number {
  try {
    const low = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'), 10);
    return Number.isSafeInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

const FIRST_PICKED_PORT = 20000;

/** Binds `port` on 127.0.0.1 (0: one the kernel picks) and lets it go; the port, or undefined if taken. */
function bindAndRelease(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr !== null ? addr.port : undefined;
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that is free now, for a process started later to bind. Picked at random
 * below the kernel's ephemeral range, never by binding port 0: a port the kernel chose is one it
 * chooses again for the next port-0 bind or outgoing connection of any test running beside this
 * one, and a server that binds it seconds later (a container's, a service's) then finds it taken.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  if (low > FIRST_PICKED_PORT + 1000) {
    for (let i = 0; i < 64; i++) {
      const port = await bindAndRelease(randomInt(FIRST_PICKED_PORT, low));
      if (port !== undefined) return port;
    }
  }
  const port = await bindAndRelease(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}

/** Creates an OpenSSH key pair (no passphrase) at `path` and `path.pub`; returns the public key line. */
export async function generateKeyPair(
  path: string,
  type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519',
): Promise<string> {
  const args = ['-q', '-t', type, '-N', '', '-C', 'reach-test', '-f', path];
  if (type === 'rsa') args.push('-b', '2048');
  await execFileAsync('ssh-keygen', args);
  return (await readFile(`${path}.pub`, 'utf8')).trim();
}

/**
 * Ensures a local user `name` exists with `password` (useradd + chpasswd). Idempotent. Only works
 * as root; otherwise it returns the current user's name without touching anything (password auth
 * is then unavailable). Returns the user name to log in as.
 */
export async function ensureTestUser(name: string, password: string): Promise<string> {
  if (!isRoot()) return userInfo().username;
  try {
    await execFileAsync('id', ['-u', name]);
  } catch {
    try {
      await execFileAsync('useradd', ['-m', '-s', '/bin/bash', name]);
    } catch (err) {
      // Another test process may have created it concurrently.
      await execFileAsync('id', ['-u', name]).catch(() => {
        throw err;
      });
    }
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn('chpasswd', [], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`chpasswd failed (${code}): ${stderr}`)),
    );
    child.stdin.end(`${name}:${password}\n`);
  });
  return name;
}

function buildConfig(o: {
  port: number;
  hostKeyPath: string;
  authorizedKeysPath: string;
  password: boolean;
  permitRootLogin: string;
  tcpForwarding: boolean;
  extra: string[];
}): string {
  return [
    `Port ${o.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${o.hostKeyPath}`,
    'PidFile none',
    'UsePAM no',
    'StrictModes no',
    `AuthorizedKeysFile ${o.authorizedKeysPath}`,
    'PubkeyAuthentication yes',
    `PasswordAuthentication ${o.password ? 'yes' : 'no'}`,
    'KbdInteractiveAuthentication no',
    `PermitRootLogin ${o.permitRootLogin}`,
    `AllowTcpForwarding ${o.tcpForwarding ? 'yes' : 'no'}`,
    'PermitTTY yes',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'LogLevel INFO',
    'MaxStartups 100:30:200',
    'MaxSessions 50',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    ...o.extra,
    '',
  ].join('\n');
}

async function waitForListening(
  child: ChildProcess,
  getLogs: () => string,
  timeoutMs: number,
): Promise<'ok' | 'addrinuse'> {
  return await new Promise((resolve, reject) => {
    const check = (): boolean => {
      const logs = getLogs();
      if (/Server listening on/.test(logs)) {
        done();
        resolve('ok');
        return true;
      }
      if (/Address already in use|Cannot bind any address/.test(logs)) {
        done();
        resolve('addrinuse');
        return true;
      }
      return false;
    };
    const onData = (): void => {
      check();
    };
    const onExit = (code: number | null): void => {
      if (check()) return;
      done();
      reject(new Error(`sshd exited (${code}) before listening:\n${getLogs()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`sshd did not start within ${timeoutMs} ms:\n${getLogs()}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
    check();
  });
}

/**
 * Starts `sshd -D -e -f <config>` on 127.0.0.1 and resolves once it listens. With no `port`, a free
 * ephemeral port is picked and the start retried on EADDRINUSE (other tests race for ports).
 */
export async function startSshd(options: StartSshdOptions = {}): Promise<SshdHandle> {
  if (isRoot()) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'reach-sshd-'));
  // The authorized_keys file is read with the target user's privileges: let them traverse.
  await chmod(dir, 0o755);
  try {
    let hostKeyPath = options.hostKeyPath;
    if (hostKeyPath === undefined) {
      hostKeyPath = join(dir, 'ssh_host_ed25519_key');
      await generateKeyPair(hostKeyPath, 'ed25519');
    }
    const hostPublicKey = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim();
    const authorizedKeysPath = join(dir, 'authorized_keys');
    await writeFile(authorizedKeysPath, (options.authorizedKeys ?? []).map((k) => `${k.trim()}\n`).join(''));
    await chmod(authorizedKeysPath, 0o644);
    const configPath = join(dir, 'sshd_config');
    const attempts = options.port === undefined ? 8 : 1;
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      await writeFile(
        configPath,
        buildConfig({
          port,
          hostKeyPath,
          authorizedKeysPath,
          password: options.passwordAuthentication ?? false,
          permitRootLogin: options.permitRootLogin ?? (isRoot() ? 'yes' : 'no'),
          tcpForwarding: options.allowTcpForwarding ?? true,
          extra: options.extraConfig ?? [],
        }),
      );
      const child = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      let logs = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => {
        // Bounded: keep the last 256 KiB only.
        logs = (logs + d).slice(-262_144);
      });
      let outcome: 'ok' | 'addrinuse';
      try {
        outcome = await waitForListening(child, () => logs, options.startTimeoutMs ?? 10_000);
      } catch (err) {
        await stopChild(child);
        throw err;
      }
      if (outcome === 'addrinuse') {
        await stopChild(child);
        if (attempt < attempts) continue;
        throw new Error(`sshd could not bind 127.0.0.1:${port}:\n${logs}`);
      }
      let stopped: Promise<void> | undefined;
      return {
        port,
        hostKeyFingerprint: fingerprintOf(hostPublicKey),
        hostPublicKey,
        hostKeyPath,
        dir,
        logs: () => logs,
        stop: () => {
          stopped ??= (async () => {
            await stopChild(child);
            await rm(dir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
