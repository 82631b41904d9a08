/**
 * Test helper: many Reach clients from one process. Each is a real ssh2 connection with its own
 * ed25519 key that requests the virtual reverse forward (`LINK.agentBindAddr`:0) and answers the
 * server's agent calls (`hello`, `set_policy`, `heartbeat`) over an RpcPeer on the forwarded
 * channel, so the server registers it as a real client. Nothing else is served: these clients
 * exist to be counted and to sit idle.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINK, ListClientsResult, RpcPeer } from '@reach/protocol';
import type ssh2 from 'ssh2';
import { z } from 'zod';
import { ed25519KeyPair } from '../../../../test-support/ed25519-key-pair.ts';
import { startSimClient } from './start-sim-client.ts';

export type ListClients = z.infer<typeof ListClientsResult>;

export interface SimKey {
  privateKey: string;
  /** authorized_keys line. */
  publicKey: string;
}

export interface SimClient {
  index: number;
  uuid: string;
  conn: ssh2.Client;
  /** Resolves when the server's `hello` has been answered. */
  registered: Promise<void>;
  /** Agent calls answered so far, by method. */
  calls: Map<string, number>;
  /** Resolves when the SSH connection has closed. */
  closed: Promise<void>;
}

export interface ManyClientsOptions {
  port: number;
  host?: string;
  keys: readonly SimKey[];
  /** SSH handshakes in progress at once (default 25). */
  connectConcurrency?: number;
  /** Per-client wait for the handshake and for `hello`, in ms (default 30 s). */
  timeoutMs?: number;
}

export interface ManyClients {
  clients: SimClient[];
  /** Asks the server for its client list over the `reach-control` subsystem of one connection. */
  listClients(): Promise<ListClients>;
  /** Ends every connection and waits until each has closed. Idempotent. */
  close(): Promise<void>;
}

/** Fresh ed25519 key pairs (OpenSSH format), generated in-process. */
export function generateSimKeys(count: number): SimKey[] {
  return Array.from({ length: count }, (_, i) => {
    const pair = ed25519KeyPair(`sim-${i}`);
    return { privateKey: pair.private, publicKey: pair.public.trim() };
  });
}

/** Appends the keys to `<dataDir>/authorized_keys` (the server re-reads it on change). */
export async function authorizeSimKeys(dataDir: string, keys: readonly SimKey[]): Promise<void> {
  await appendFile(join(dataDir, 'authorized_keys'), keys.map((k) => `${k.publicKey}\n`).join(''), {
    mode: 0o600,
  });
}

/**
 * Connects one client per key, at most `connectConcurrency` handshakes at a time, and resolves once
 * every client has answered `hello`. On any failure every connection is closed and the error thrown.
 */
export async function connectManyClients(options: ManyClientsOptions): Promise<ManyClients> {
  const clients: SimClient[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(clients.map(endConnection));
  };
  const limit = options.connectConcurrency ?? 25;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.keys.length) {
      const index = next++;
      const client = startSimClient(index, options);
      clients.push(client);
      await client.registered;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, options.keys.length) }, worker));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    clients,
    listClients: () => listClients(clients[0]?.conn, options.timeoutMs ?? 30_000),
    close,
  };
}

function listClients(conn: ssh2.Client | undefined, timeoutMs: number): Promise<ListClients> {
  if (!conn) return Promise.reject(new Error('no connected client to ask'));
  return new Promise((resolve, reject) => {
    conn.subsys(LINK.controlSubsystem, (err, stream) => {
      if (err) {
        reject(err);
        return;
      }
      const peer = new RpcPeer({
        transport: { send: (frame) => stream.write(frame), close: () => stream.close() },
      });
      stream.on('data', (chunk: Buffer) => peer.receive(chunk));
      stream.on('close', () => peer.handleClose());
      peer
        .call('list_clients', {}, { timeoutMs })
        .then((result) => resolve(ListClientsResult.parse(result)), reject)
        .finally(() => peer.close());
    });
  });
}

async function endConnection(client: SimClient): Promise<void> {
  client.conn.end();
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      client.conn.destroy();
      resolve();
    }, 5000);
  });
  await Promise.race([client.closed, forced]);
  clearTimeout(timer);
}

const SERVER_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/bin.ts');

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  sshPort: number;
  httpPort: number;
  /** Client counts from the unauthenticated `GET /health`. */
  clientCounts(): Promise<{ online: number; total: number }>;
  /** The server's stderr so far (bounded), for diagnosing failures. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Spawns `reach-server` as a real process (so its memory can be read from /proc) on loopback with
 * ephemeral SSH and HTTP ports, and resolves once it prints its SSH port.
 */
export async function spawnServerProcess(
  dataDir: string,
  extraArgs: string[] = [],
  /** Node flags placed before the script (e.g. `--inspect=127.0.0.1:0`). */
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  // The server does not print its HTTP port at log level warn: pick a free one (a lost race makes
  // the start fail loudly, it cannot pass wrongly).
  const httpPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      SERVER_BIN,
      '--transport',
      'http',
      '--port',
      String(httpPort),
      '--ssh-host',
      '127.0.0.1',
      '--ssh-port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  const sshPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 20 s:\n${stderr}`)), 20_000);
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-65_536);
      const m = /SSH on [^\s]+:(\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${stderr}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  let stopped: Promise<void> | undefined;
  return {
    child,
    pid: child.pid!,
    sshPort,
    httpPort,
    clientCounts: async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/health`);
      if (!res.ok) throw new Error(`GET /health: HTTP ${res.status}`);
      return HealthCounts.parse(await res.json()).clients;
    },
    stderr: () => stderr,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
      return stopped;
    },
  };
}

const HealthCounts = z.object({
  clients: z.object({ online: z.number().int(), total: z.number().int() }),
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in bytes (Linux: VmRSS in /proc/<pid>/status). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
