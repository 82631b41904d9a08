/**
 * `reach-server` as a user runs it, as real processes: --help and --version, a busy port, an unsafe
 * HTTP configuration refused before anything listens, and `--transport stdio` bridging to an HTTP
 * daemon that already holds the SSH port on the same data dir.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { SERVER_OPTIONS } from '../src/config/server-options.ts';
import { DAEMON_FILE, readDaemonFile } from '../src/daemon/daemon-file.ts';
import { type ServerProcess, spawnServerProcess } from './helpers/server-process.ts';
import { ok } from './mcp/mcp-client.ts';

const BIN = join(import.meta.dirname, '../src/bin.ts');
/** A stack frame line, as `err.stack` prints it. */
const STACK_FRAME = /^\s+at /m;

/** Runs reach-server to completion with stdin closed; stdout, stderr and the exit code. */
function runServer(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function occupy(): Promise<Server & { port: number }> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      resolve(Object.assign(srv, { port: typeof addr === 'object' && addr !== null ? addr.port : 0 }));
    });
  });
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('reach-server CLI', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reach-server-cli-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('--help lists every flag and environment variable of the option table; --version and -V', async () => {
    const help = await runServer(['--help']);
    assert.equal(help.code, 0);
    const rows = Object.values(SERVER_OPTIONS);
    assert.ok(rows.length >= 25, `${rows.length} options`);
    for (const row of rows) {
      if (row.flag !== null)
        assert.match(help.stdout, new RegExp(`--${row.flag}\\b`), `--${row.flag} in --help`);
      if (row.env !== null) assert.ok(help.stdout.includes(`REACH_${row.env}`), `REACH_${row.env} in --help`);
    }
    for (const command of ['authorize', 'audit', 'webhooks', 'webhook-test-receiver']) {
      assert.ok(help.stdout.includes(`reach-server ${command}`), command);
    }
    for (const flag of ['--version', '-V']) {
      const v = await runServer([flag]);
      assert.equal(v.code, 0);
      assert.match(v.stdout, /^reach-server \d+\.\d+\.\d+\n$/);
    }
  });

  test('a bad flag or value is one line naming it, exit 2, no stack', async () => {
    for (const [args, pattern] of [
      [['--ssh-port', '70000'], /invalid --ssh-port/],
      [['--no-such-flag'], /--no-such-flag/],
    ] as const) {
      const r = await runServer([...args, '--data-dir', join(root, 'bad')]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, STACK_FRAME);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const env = await runServer(['--data-dir', join(root, 'bad')], { REACH_SSH_PORT: 'abc' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /invalid REACH_SSH_PORT/);
  });

  test('a busy SSH port or HTTP port is one line naming --ssh-port or --port, exit non-zero, no stack', async () => {
    const busy = await occupy();
    try {
      const ssh = await runServer([
        ...['--ssh-host', '127.0.0.1', '--ssh-port', String(busy.port), '--log-level', 'error'],
        ...['--transport', 'http', '--port', '0', '--data-dir', join(root, 'busy-ssh')],
      ]);
      assert.notEqual(ssh.code, 0);
      assert.match(
        ssh.stderr,
        new RegExp(`SSH port 127\\.0\\.0\\.1:${busy.port} is already in use: pass --ssh-port`),
      );
      assert.doesNotMatch(ssh.stderr, STACK_FRAME);

      const http = await runServer([
        ...['--ssh-host', '127.0.0.1', '--ssh-port', '0', '--log-level', 'error'],
        ...['--transport', 'http', '--port', String(busy.port), '--data-dir', join(root, 'busy-http')],
      ]);
      assert.notEqual(http.code, 0);
      assert.match(
        http.stderr,
        new RegExp(`HTTP port 127\\.0\\.0\\.1:${busy.port} is already in use: pass --port`),
      );
      assert.doesNotMatch(http.stderr, STACK_FRAME);
      // The daemon record is only written once HTTP listens: none is left behind.
      assert.equal(await exists(join(root, 'busy-http', DAEMON_FILE)), false);

      // stdio with no daemon recorded says how to reach one that may hold the port.
      const stdio = await runServer([
        ...['--ssh-host', '127.0.0.1', '--ssh-port', String(busy.port), '--log-level', 'error'],
        ...['--data-dir', join(root, 'busy-stdio')],
      ]);
      assert.notEqual(stdio.code, 0);
      assert.match(stdio.stderr, /pass --ssh-port N.*pass its --data-dir so stdio bridges to it/);
      assert.doesNotMatch(stdio.stderr, STACK_FRAME);
    } finally {
      busy.close();
    }
  });

  test('HTTP on a non-loopback address without an API key is refused before anything listens or is written', async () => {
    const busy = await occupy();
    try {
      const dataDir = join(root, 'open');
      // The SSH port is taken: had the SSH listener been started first, the error would name it.
      const r = await runServer([
        ...['--transport', 'http', '--host', '0.0.0.0', '--port', '0'],
        ...['--ssh-host', '127.0.0.1', '--ssh-port', String(busy.port), '--data-dir', dataDir],
      ]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /refusing to serve HTTP on 0\.0\.0\.0 without an API key/);
      assert.doesNotMatch(r.stderr, /already in use/);
      assert.equal(await exists(dataDir), false, 'nothing written to the data dir');
    } finally {
      busy.close();
    }
  });

  describe('stdio beside a running HTTP daemon on the same data dir', () => {
    let daemon: ServerProcess | undefined;
    const dataDir = () => join(root, 'shared');
    before(async () => {
      daemon = await spawnServerProcess(dataDir(), ['--api-key', 'cli-test-key-0123456789']);
    });
    after(async () => {
      await daemon?.stop();
    });

    test('the daemon records itself owner-only; stdio serves MCP by bridging to it', async () => {
      assert.ok(daemon);
      const info = await readDaemonFile(dataDir());
      assert.equal(info?.pid, daemon.pid);
      assert.equal(info?.sshPort, daemon.sshPort);
      assert.equal(info?.mcpUrl, `http://127.0.0.1:${daemon.httpPort}/mcp`);

      // What the README's stdio configuration runs, with the daemon's SSH port taken.
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [BIN, '--transport', 'stdio', '--ssh-host', '127.0.0.1', '--ssh-port', String(daemon.sshPort)],
        env: { PATH: process.env.PATH ?? '', REACH_SERVER_HOME: dataDir(), REACH_LOG_LEVEL: 'warn' },
        stderr: 'pipe',
      });
      let stderr = '';
      transport.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const client = new Client({ name: 'bridge-test', version: '1' });
      try {
        await client.connect(transport);
        const tools = await client.listTools();
        assert.ok(tools.tools.some((t) => t.name === 'run_command'));
        const listed = await ok(client, 'list_clients');
        assert.equal(listed.total_count, 0);
        // The call went through the daemon: it is in the daemon's audit trail.
        const audit = await ok(client, 'get_audit_log', { tool: 'list_clients' });
        assert.ok((audit.entries as unknown[]).length >= 1, JSON.stringify(audit));
      } finally {
        await client.close();
      }
      assert.match(stderr, new RegExp(`bridging stdio to http://127\\.0\\.0\\.1:${daemon.httpPort}/mcp`));
      assert.doesNotMatch(stderr, /already in use/);
    });
  });
});
