import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type RunningWebhookTestReceiver, runWebhookTestReceiver } from '../../src/webhooks/test-receiver.ts';
import {
  type ClientProcess,
  eventually,
  NODE,
  SERVER_BIN,
  type ServerProcess,
  startClient,
  startHttpServer,
} from '../mcp/harness.ts';
import { callTool, fails, ok } from '../mcp/mcp-client.ts';

const run = promisify(execFile);
const API_KEY = 'fleet-api-key-5d2e8c1b7a';
const SECRET = 'fleet-webhook-secret-0b9d';
const FILE_BODY = 'FILE-BODY-never-logged-7f3a';
const PASSWORD = 'hunter2-never-logged';

interface Delivered {
  verified: boolean;
  payload: { id: string; event: string; client: { uuid: string }; data: Record<string, any> };
}

function delivered(logFile: string): Delivered[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Delivered);
}

async function connect(port: number): Promise<Client> {
  const client = new Client({ name: 'fleet-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
    }),
  );
  return client;
}

describe('fleet operations with real processes: webhooks, health, rate limits, audit, logs', () => {
  let dir: string;
  let receiver: RunningWebhookTestReceiver | undefined;
  let receiverPort: number;
  let receiverLog: string;
  let server: ServerProcess;
  let serverLogFile: string;
  let frozen: ClientProcess;
  let killed: ClientProcess;
  let steady: ClientProcess;
  let mcp: Client;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reach-fleet-'));
    receiverLog = join(dir, 'webhooks.jsonl');
    receiver = await runWebhookTestReceiver({ port: 0, logFile: receiverLog, secret: SECRET });
    receiverPort = receiver.port;
    serverLogFile = join(dir, 'server.log');
    server = await startHttpServer({
      apiKey: API_KEY,
      env: { REACH_WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/hook`, REACH_WEBHOOK_SECRET: SECRET },
      args: [
        '--heartbeat-interval',
        '0.3',
        '--heartbeat-timeout',
        '0.3',
        '--heartbeat-grace',
        '0',
        '--rate-limit-mode',
        'enforce',
        '--log-file',
        serverLogFile,
      ],
    });
    const fast = { REACH_RECONNECT_DELAY: '1', REACH_MAX_RECONNECT_DELAY: '2' };
    frozen = await startClient(server, { displayName: 'frozen', env: fast });
    killed = await startClient(server, { displayName: 'killed', env: fast });
    steady = await startClient(server, { displayName: 'steady', env: fast });
    mcp = await connect(server.httpPort);
    await eventually(async () => ((await ok(mcp, 'list_clients')).online_count === 3 ? true : undefined));
  });

  after(async () => {
    await mcp?.close().catch(() => {});
    frozen?.proc.kill('SIGCONT');
    await Promise.allSettled([frozen?.stop(), killed?.stop(), steady?.stop()]);
    await server?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('client.connected reaches a real receiver, signed and verified', async () => {
    const events = await eventually(async () => {
      const got = delivered(receiverLog).filter((d) => d.payload.event === 'client.connected');
      return got.length >= 3 ? got : undefined;
    });
    assert.ok(
      events.every((e) => e.verified),
      'every delivery carried a valid signature',
    );
    assert.deepEqual(
      new Set(events.map((e) => e.payload.client.uuid)),
      new Set([frozen.uuid, killed.uuid, steady.uuid]),
    );
  });

  test('tool calls raise command_executed and file_accessed without file bodies', async () => {
    await ok(mcp, 'run_command', { cmd: 'echo fleet', client_id: steady.uuid });
    const path = join(steady.home, 'note.txt');
    await ok(mcp, 'write_file', { path, content: FILE_BODY, client_id: steady.uuid });
    await ok(mcp, 'read_file', { path, client_id: steady.uuid });
    const got = await eventually(async () => {
      const all = delivered(receiverLog).filter((d) => d.payload.client.uuid === steady.uuid);
      const cmd = all.find((d) => d.payload.event === 'command_executed');
      const files = all.filter((d) => d.payload.event === 'file_accessed');
      return cmd && files.length >= 2 ? { cmd, files } : undefined;
    });
    assert.equal(got.cmd.payload.data.cmd, 'echo fleet');
    assert.equal(got.cmd.payload.data.returncode, 0);
    assert.deepEqual(got.files.map((f) => f.payload.data.operation).sort(), ['read', 'write']);
    assert.ok(!readFileSync(receiverLog, 'utf8').includes(FILE_BODY));
  });

  test('enforce mode: past the per-client rpm the call is refused with a retry-after hint', async () => {
    await ok(mcp, 'configure_client', { uuid: killed.uuid, rate_limit_rpm: 2 });
    await ok(mcp, 'run_command', { cmd: 'true', client_id: killed.uuid });
    await ok(mcp, 'run_command', { cmd: 'true', client_id: killed.uuid });
    const refused = await fails(
      mcp,
      'run_command',
      { cmd: 'true', client_id: killed.uuid },
      'RATE_LIMIT_EXCEEDED',
    );
    assert.ok(refused.details.retry_after_s >= 1);
    assert.match(String(refused.recovery_hint), /retry after/);
    const stats = await ok(mcp, 'get_rate_limit_stats', { uuid: killed.uuid });
    assert.equal(stats.stats.mode, 'enforce');
    assert.equal(stats.stats.rpm_limit, 2);
    assert.ok(stats.stats.rpm_warnings >= 1);
    // Other clients are not affected.
    await ok(mcp, 'run_command', { cmd: 'true', client_id: steady.uuid });
  });

  test('a frozen client is declared unhealthy, then disconnected; a killed one disconnected', async () => {
    frozen.proc.kill('SIGSTOP');
    killed.proc.kill('SIGKILL');
    const got = await eventually(async () => {
      const all = delivered(receiverLog);
      const unhealthy = all.findIndex(
        (d) => d.payload.event === 'client.unhealthy' && d.payload.client.uuid === frozen.uuid,
      );
      const gone = all.findIndex(
        (d) => d.payload.event === 'client.disconnected' && d.payload.client.uuid === frozen.uuid,
      );
      const killedGone = all.find(
        (d) => d.payload.event === 'client.disconnected' && d.payload.client.uuid === killed.uuid,
      );
      return unhealthy >= 0 && gone >= 0 && killedGone ? { unhealthy, gone, all } : undefined;
    }, 30_000);
    assert.ok(got.unhealthy < got.gone, 'client.unhealthy comes before client.disconnected');
    assert.ok(got.all[got.unhealthy]!.payload.data.failed_heartbeats >= 3);
    const list = await ok(mcp, 'list_clients');
    assert.equal(list.clients.find((c: any) => c.uuid === frozen.uuid).online, false);
    assert.equal(list.clients.find((c: any) => c.uuid === killed.uuid).online, false);
    await fails(mcp, 'run_command', { cmd: 'true', client_id: frozen.uuid }, 'CLIENT_NOT_FOUND');
  });

  test('audit rows for every tool call, with secrets and bodies absent', async () => {
    const r = await callTool(mcp, 'ssh_session_open', {
      host: '127.0.0.1',
      port: 1,
      username: 'nobody',
      password: PASSWORD,
      client_id: steady.uuid,
    });
    assert.equal(r.isError, true);
    await ok(mcp, 'describe_client', { uuid: steady.uuid });
    const { stdout } = await run(NODE, [
      SERVER_BIN,
      'audit',
      '--data-dir',
      server.dataDir,
      '--json',
      '--limit',
      '500',
    ]);
    const rows = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const tools = new Set(rows.map((row: any) => row.tool));
    for (const t of [
      'list_clients',
      'run_command',
      'write_file',
      'read_file',
      'configure_client',
      'ssh_session_open',
      'describe_client',
    ]) {
      assert.ok(tools.has(t), `audit has ${t}`);
    }
    const refused = rows.find((row: any) => row.outcome === 'RATE_LIMIT_EXCEEDED');
    assert.equal(refused.tool, 'run_command');
    const write = rows.find((row: any) => row.tool === 'write_file');
    assert.equal(write.client_uuid, steady.uuid);
    assert.equal(write.arguments.content.size, Buffer.byteLength(FILE_BODY));
    assert.match(write.arguments.content.sha256, /^[0-9a-f]{64}$/);
    assert.ok(!stdout.includes(FILE_BODY), 'file body absent from the audit trail');
    assert.ok(!stdout.includes(PASSWORD), 'password absent from the audit trail');
    const viaTool = await ok(mcp, 'get_audit_log', { client_id: 'steady', tool: 'write_file' });
    assert.ok(viaTool.count >= 1);
  });

  test('receiver down for 20 events and a server restart: all 20 delivered in order', async () => {
    await receiver!.close();
    receiver = undefined;
    for (let i = 0; i < 20; i++)
      await ok(mcp, 'run_command', { cmd: `echo outbox-${i}`, client_id: steady.uuid });
    await mcp.close();
    // Restart the server process on the same ports and data dir; the client comes back by itself.
    const { proc, sshPort, httpPort, dataDir } = server;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    const restarted = await startHttpServer({
      apiKey: API_KEY,
      env: { REACH_WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/hook`, REACH_WEBHOOK_SECRET: SECRET },
      args: ['--ssh-port', String(sshPort), '--port', String(httpPort), '--log-file', serverLogFile],
      dataDir,
    });
    server = restarted;
    receiver = await runWebhookTestReceiver({ port: receiverPort, logFile: receiverLog, secret: SECRET });
    const cmds = await eventually(async () => {
      const got = delivered(receiverLog)
        .filter(
          (d) =>
            d.payload.event === 'command_executed' && String(d.payload.data.cmd).startsWith('echo outbox-'),
        )
        .map((d) => d.payload.data.cmd as string);
      return got.length >= 20 ? got : undefined;
    }, 30_000);
    assert.deepEqual(
      cmds,
      Array.from({ length: 20 }, (_, i) => `echo outbox-${i}`),
      'all 20, each once, in order',
    );
    mcp = await connect(server.httpPort);
    await eventually(async () => {
      const d = await ok(mcp, 'describe_client', { uuid: steady.uuid });
      return d.online ? d : undefined;
    });
  });

  test('the outbox is visible: /health counts and `reach-server webhooks`', async () => {
    const health = (await (await fetch(`http://127.0.0.1:${server.httpPort}/health`)).json()) as any;
    assert.equal(typeof health.webhooks.pending, 'number');
    assert.equal(health.webhooks.dead, 0);
    const { stdout } = await run(NODE, [SERVER_BIN, 'webhooks', '--data-dir', server.dataDir, '--json']);
    const outbox = JSON.parse(stdout);
    assert.equal(outbox.dead, 0);
    assert.deepEqual(outbox.dead_letters, []);
  });

  test('logs never carry the API key, a password or a file body', () => {
    const logs = [readFileSync(serverLogFile, 'utf8'), server.logs.raw.join('\n')].join('\n');
    assert.ok(logs.length > 1000, 'the run produced logs');
    assert.ok(!logs.includes(API_KEY), 'API key absent');
    assert.ok(!logs.includes(FILE_BODY), 'file body absent');
    assert.ok(!logs.includes(PASSWORD), 'password absent');
    assert.ok(!logs.includes(SECRET), 'webhook secret absent');
  });
});
