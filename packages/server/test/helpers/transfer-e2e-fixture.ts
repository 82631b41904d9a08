/**
 * Test helper for the upload_file / download_file end-to-end tests: a real reach-server process
 * (MCP over HTTP, webhooks to a loopback receiver) and a real reach client process over loopback
 * SSH, started before a describe's tests and stopped after them by `transferE2eFixture()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { authorizeKey } from '../../src/commands/authorize.ts';
import { type ClientHome, type Proc, prepareClientHome, startClient } from '../e2e-harness.ts';
import { LogWatch } from '../mcp/harness.ts';
import { callTool, ok } from '../mcp/mcp-client.ts';

const SERVER_BIN = join(import.meta.dirname, '..', '..', 'src', 'bin.ts');
export const API_KEY = 'transfer-test-key-3b9d';
export const MIB = 1024 * 1024;

export interface ServerHandle {
  proc: ChildProcess;
  logs: LogWatch;
  sshPort: number;
  httpPort: number;
}

/** reach-server --transport http on loopback; `sshPort` fixed to come back on the same port. */
export async function startServer(
  dataDir: string,
  extraRoot: string,
  webhookUrl: string,
  sshPort = 0,
  env: Record<string, string> = {},
): Promise<ServerHandle> {
  const proc = spawn(
    process.execPath,
    [
      SERVER_BIN,
      '--transport',
      'http',
      '--port',
      '0',
      '--ssh-host',
      '127.0.0.1',
      '--ssh-port',
      String(sshPort),
      '--data-dir',
      dataDir,
      '--api-key',
      API_KEY,
      '--transfer-root',
      extraRoot,
      '--webhook-url',
      webhookUrl,
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, REACH_LOG_LEVEL: 'info', ...env } },
  );
  const logs = new LogWatch(proc.stderr!);
  const ssh = await logs.waitFor((l) => l.msg === 'ssh listening');
  const http = await logs.waitFor((l) => l.msg === 'http listening');
  return { proc, logs, sshPort: Number(ssh.port), httpPort: Number(http.port) };
}

/** A loopback webhook receiver: keeps every JSON body it is sent and answers 200. */
export async function startReceiver(): Promise<{
  url: string;
  events: WebhookBody[];
  close(): Promise<void>;
}> {
  const events: WebhookBody[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookBody);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface WebhookBody {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

export async function kill(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function connect(httpPort: number): Promise<Client> {
  const client = new Client({ name: 'reach-transfer-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${httpPort}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
    }),
  );
  return client;
}

/**
 * The processes and directories of one describe's tests, filled in by the `before` hook that
 * `transferE2eFixture()` registers. A test that restarts the server, the client or the MCP session
 * assigns the new handle here, so later tests and the `after` hook use the live one.
 */
export class TransferE2eFixture {
  work!: string;
  dataDir!: string;
  /** The server's default transfer root (`<dataDir>/transfers`): relative local paths land here. */
  root!: string;
  /** A second root, given with `--transfer-root`. */
  extraRoot!: string;
  /** The client's only allowed path. */
  clientDir!: string;
  server!: ServerHandle;
  home!: ClientHome;
  client!: Proc;
  mcp!: Client;
  receiver!: Awaited<ReturnType<typeof startReceiver>>;

  /** Resolves once list_clients reports the client online; throws after 20 s. */
  async online(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const r = await callTool(this.mcp, 'list_clients').catch(() => undefined);
      if (r && !r.isError && r.body.online_count === 1) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('client did not come online');
  }
}

/**
 * Call inside a describe: registers `before` (directories, receiver, server, authorized client,
 * MCP session with the client selected) and `after` (stops all of it, removes the directories),
 * and returns the fixture they fill in.
 */
export function transferE2eFixture(): TransferE2eFixture {
  const fx = new TransferE2eFixture();

  before(async () => {
    fx.work = await mkdtemp(join(tmpdir(), 'reach-transfer-e2e-'));
    fx.dataDir = join(fx.work, 'server');
    fx.root = join(fx.dataDir, 'transfers');
    fx.extraRoot = join(fx.work, 'extra-root');
    fx.clientDir = join(fx.work, 'client-files');
    await mkdir(fx.extraRoot, { recursive: true });
    await mkdir(fx.clientDir, { recursive: true });
    fx.receiver = await startReceiver();
    fx.server = await startServer(fx.dataDir, fx.extraRoot, fx.receiver.url);
    fx.home = await prepareClientHome(join(fx.work, 'client-home'), { allowedPaths: [fx.clientDir] });
    await authorizeKey(fx.dataDir, fx.home.publicKey);
    fx.client = startClient(fx.home, fx.server.sshPort);
    fx.mcp = await connect(fx.server.httpPort);
    await fx.online();
    await ok(fx.mcp, 'select_client', { client_id: fx.home.uuid });
  });

  after(async () => {
    await fx.mcp?.close().catch(() => {});
    await fx.client?.stop();
    if (fx.server) await kill(fx.server.proc, 'SIGTERM');
    await fx.receiver?.close();
    await rm(fx.work, { recursive: true, force: true });
  });

  return fx;
}
