/**
 * Test harness for the server ↔ tunnel link: an in-process server on an ephemeral port with its
 * own data dir, client keys authorized through the real `authorize` command, and in-process
 * tunnels serving a small fake agent.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ReachError, type RpcHandler } from '@reach/protocol';
import { pino } from 'pino';
import { ed25519KeyPair } from '../../../test-support/ed25519-key-pair.ts';
import { Tunnel } from '../../client/src/tunnel/tunnel.ts';
import { authorizeKey } from '../src/commands/authorize.ts';
import { loadServerConfig, type ServerConfig } from '../src/config/server-config.ts';
import { type RunningServer, startServer } from '../src/main.ts';

/** Collects JSON log lines in memory; `lines` for assertions. */
export function memoryLogger(level = 'debug'): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level }, sink), lines };
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  config: ServerConfig;
  lines: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startTestServer(dataDir: string, extraArgs: string[] = []): Promise<TestServer> {
  const { config } = loadServerConfig(
    ['--ssh-host', '127.0.0.1', '--ssh-port', '0', '--data-dir', dataDir, ...extraArgs],
    {},
  );
  const { log, lines } = memoryLogger();
  const server = await startServer(config, { log, startTransports: async () => ({ close: async () => {} }) });
  return { server, dataDir, config, lines, close: () => server.close() };
}

export interface ClientKey {
  privateKey: string;
  publicKey: string;
  fingerprint: string;
}

export async function newClientKey(dataDir?: string): Promise<ClientKey> {
  const pair = ed25519KeyPair('test-client');
  let fingerprint = '';
  if (dataDir) fingerprint = (await authorizeKey(dataDir, pair.public)).fingerprint;
  return { privateKey: pair.private, publicKey: pair.public, fingerprint };
}

export interface FakeAgent {
  uuid: string;
  handlers: Map<string, RpcHandler>;
  policies: string[][];
}

/** A minimal agent: hello, set_policy, heartbeat, and a run_command that echoes or sleeps. */
export function fakeAgent(uuid: string = randomUUID(), name = 'fake'): FakeAgent {
  const policies: string[][] = [];
  const handlers = new Map<string, RpcHandler>([
    [
      'hello',
      async () => ({
        uuid,
        client_id: `${name}-id`,
        display_name: name,
        purpose: 'testing',
        tags: ['test'],
        capabilities: ['node'],
        hostname: 'test-host',
        platform: 'linux',
        username: 'tester',
        version: '0.0.0',
        allowed_paths: [],
      }),
    ],
    [
      'set_policy',
      async (params) => {
        const p = params as { allowed_paths: string[] };
        policies.push(p.allowed_paths);
        return { allowed_paths: p.allowed_paths };
      },
    ],
    ['heartbeat', async () => ({ ts: Date.now(), uptime_s: process.uptime() })],
    [
      'run_command',
      async (params, ctx) => {
        const p = params as { cmd: string };
        if (p.cmd.startsWith('sleep')) {
          await new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => reject(new ReachError('CANCELLED', 'killed')));
          });
        }
        return { stdout: p.cmd, stderr: '', returncode: 0, duration_ms: 1, truncated: false };
      },
    ],
  ]);
  return { uuid, handlers, policies };
}

export function tunnelTo(
  ts: TestServer,
  key: ClientKey,
  agent: FakeAgent,
  knownHostsPath: string,
): { tunnel: Tunnel; lines: Array<Record<string, unknown>> } {
  const { log, lines } = memoryLogger();
  const tunnel = new Tunnel({
    host: '127.0.0.1',
    port: ts.server.sshPort,
    username: 'reach',
    privateKey: key.privateKey,
    knownHostsPath,
    handlers: agent.handlers,
    reconnectDelayS: 0.05,
    maxReconnectDelayS: 0.2,
    log,
  });
  return { tunnel, lines };
}

/** Polls `check` every 20 ms until it returns truthy or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
