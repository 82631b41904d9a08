import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  type ClientProcess,
  eventually,
  LogWatch,
  NODE,
  ROOT,
  SERVER_BIN,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './harness.ts';
import { callTool, fails, ok } from './mcp-client.ts';

const run = promisify(execFile);
const API_KEY = 'transport-key-93ab71';

describe('MCP over legacy SSE, the Inspector CLI, and key quarantine', () => {
  let server: ServerProcess;
  let alpha: ClientProcess;

  before(async () => {
    server = await startHttpServer({ apiKey: API_KEY });
    alpha = await startClient(server, { displayName: 'alpha' });
  });

  after(async () => {
    await alpha?.stop();
    await server?.stop();
  });

  test('SSE: the SDK client lists tools and runs a command', async () => {
    const client = new Client({ name: 'sse-test', version: '1.0.0' });
    await client.connect(
      new SSEClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/sse`), {
        requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
      }),
    );
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'run_command'));
      await eventually(async () =>
        (await ok(client, 'list_clients')).online_count === 1 ? true : undefined,
      );
      const r = await ok(client, 'run_command', { cmd: 'echo over-sse', client_id: alpha.uuid });
      assert.equal(r.stdout, 'over-sse\n');
      await fails(client, 'read_file', { path: '/definitely/missing', client_id: 'alpha' }, 'FILE_NOT_FOUND');
    } finally {
      await client.close();
    }
  });

  test('SSE without the key is refused', async () => {
    const r = await fetch(`http://127.0.0.1:${server.httpPort}/sse`);
    assert.equal(r.status, 401);
  });

  test('a third-party MCP client (MCP Inspector CLI) lists tools and calls run_command', async () => {
    // The Inspector resolves its own package.json against the working directory: run it from its build dir.
    const cwd = join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build');
    const cli = join(cwd, 'index.js');
    const common = [
      cli,
      `http://127.0.0.1:${server.httpPort}/mcp`,
      '--transport',
      'http',
      '--header',
      `Authorization: Bearer ${API_KEY}`,
    ];
    const list = await run(NODE, [...common, '--method', 'tools/list'], { timeout: 60_000, cwd });
    const tools = JSON.parse(list.stdout).tools as { name: string }[];
    assert.ok(tools.some((t) => t.name === 'run_command'));
    const call = await run(
      NODE,
      [
        ...common,
        '--method',
        'tools/call',
        '--tool-name',
        'run_command',
        '--tool-arg',
        'cmd=echo from-inspector',
        `client_id=${alpha.uuid}`,
      ],
      { timeout: 60_000, cwd },
    );
    const result = JSON.parse(call.stdout) as { content: { text: string }[]; isError?: boolean };
    assert.notEqual(result.isError, true, call.stdout);
    assert.equal(JSON.parse(result.content[0]!.text).stdout, 'from-inspector\n');
  });

  test('the same UUID with another key: refused while the trusted key is online, quarantined until accept_key', async () => {
    const client = new Client({ name: 'quarantine-test', version: '1.0.0' });
    await client.connect(
      new SSEClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/sse`), {
        requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
      }),
    );
    const rekeyed = await startClient(server, {
      displayName: 'alpha',
      copyConfigFrom: alpha.home,
      env: { REACH_RECONNECT_DELAY: '1', REACH_MAX_RECONNECT_DELAY: '2' },
    });
    try {
      assert.equal(rekeyed.uuid, alpha.uuid);
      const flagged = await eventually(async () => {
        const d = await ok(client, 'describe_client', { uuid: alpha.uuid });
        return d.key_mismatch ? d : undefined;
      });
      assert.match(String(flagged.public_key_fingerprint), /^SHA256:/);
      // An unaccepted key never pushes out the trusted connection.
      const still = await ok(client, 'run_command', { cmd: 'echo "$REACH_HOME"', client_id: alpha.uuid });
      assert.equal(still.stdout.trim(), alpha.home);

      // With the trusted client gone, the other key gets in, but only quarantined.
      await alpha.stop();
      await eventually(async () => {
        const r = await callTool(client, 'run_command', { cmd: 'true', client_id: alpha.uuid });
        return r.isError && r.body.error === 'SSH_KEY_MISMATCH' ? r : undefined;
      }, 30_000);
      await fails(client, 'read_file', { path: '/etc/hostname', client_id: alpha.uuid }, 'SSH_KEY_MISMATCH');

      const accepted = await ok(client, 'accept_key', { uuid: alpha.uuid });
      assert.equal(accepted.accepted.key_mismatch, false);
      const r = await ok(client, 'run_command', { cmd: 'echo "$REACH_HOME"', client_id: alpha.uuid });
      assert.equal(r.stdout.trim(), rekeyed.home);
      const d = await ok(client, 'describe_client', { uuid: alpha.uuid });
      assert.equal(d.key_mismatch, false);
      assert.equal(d.public_key_fingerprint, accepted.accepted.public_key_fingerprint);
    } finally {
      await rekeyed.stop();
      await client.close();
    }
  });
});

describe('MCP over stdio (what Claude Code launches)', () => {
  let dataDir: string;
  let client: Client;
  let transport: StdioClientTransport;
  let agent: ClientProcess | undefined;

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'reach-stdio-'));
  });

  after(async () => {
    await agent?.stop();
    await client?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the SDK client spawns the server, and tools reach a real client', async () => {
    transport = new StdioClientTransport({
      command: NODE,
      args: [
        SERVER_BIN,
        '--transport',
        'stdio',
        '--ssh-port',
        '0',
        '--ssh-host',
        '127.0.0.1',
        '--data-dir',
        dataDir,
      ],
      stderr: 'pipe',
    });
    const logs = new LogWatch(transport.stderr as Readable);
    client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(transport);
    const ssh = await logs.waitFor((l) => l.msg === 'ssh listening');
    agent = await startClient({ dataDir, sshPort: Number(ssh.port) }, { displayName: 'stdio-agent' });
    await eventually(async () => ((await ok(client, 'list_clients')).online_count === 1 ? true : undefined));
    await ok(client, 'select_client', { client_id: 'stdio-agent' });
    const r = await ok(client, 'run_command', { cmd: 'echo via-stdio' });
    assert.equal(r.stdout, 'via-stdio\n');
  });
});
