/**
 * The `reach` CLI against a real reach-server process over loopback SSH: init, key, authorize,
 * the agent serving MCP tool calls, --list-clients over the control channel, clean shutdown on
 * abort, and a changed server host key stopping the client with exit 3.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/main.ts';
import { generateKeyPair } from '../src/tunnel/keys.ts';
import { mcpSession, type ServerProcess, startServerProcess } from './helpers/server-process.ts';

const API_KEY = 'client-test-api-key-0123456789';
const REPO = join(import.meta.dirname, '..', '..', '..');

async function reach(argv: string[], env: Record<string, string | undefined>, signal?: AbortSignal) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    env,
    signal,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('reach CLI against a real server', () => {
  let root = '';
  let server: ServerProcess | undefined;
  let env: Record<string, string | undefined> = {};
  let work = '';
  const agentStop = new AbortController();
  let agent: Promise<{ code: number; stderr: string }> | undefined;

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-cli-e2e-')));
    work = join(root, 'work');
    await mkdir(join(work, 'allowed'), { recursive: true });
    await writeFile(join(root, 'outside.txt'), 'outside');
    await symlink(root, join(work, 'allowed', 'escape'));
    server = await startServerProcess(join(root, 'server'), API_KEY);
    env = {
      REACH_HOME: join(root, 'client'),
      PATH: process.env.PATH,
      REACH_SERVER_HOST: '127.0.0.1',
      REACH_SERVER_PORT: String(server.sshPort),
      REACH_ALLOWED_PATHS: join(work, 'allowed'),
      REACH_LOG_LEVEL: 'warn',
    };
    assert.equal((await reach(['--init'], env)).code, 0);
    assert.equal((await reach(['--generate-key'], env)).code, 0);
    const auth = spawnSync(
      process.execPath,
      [
        join(REPO, 'packages/server/src/bin.ts'),
        '--data-dir',
        join(root, 'server'),
        'authorize',
        join(root, 'client', 'id_ed25519.pub'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(auth.status, 0, auth.stderr);
  });

  after(async () => {
    agentStop.abort();
    await agent?.catch(() => undefined);
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  test('the agent connects, pins the host key and serves tool calls through the server', async () => {
    agent = reach([], env, agentStop.signal);
    const uuid = (await reach(['--show-uuid'], env)).stdout.trim();
    const listed = await waitFor(async () => {
      const r = await reach(['--list-clients', '--json'], env);
      if (r.code !== 0) return undefined;
      const list = JSON.parse(r.stdout) as { clients: Array<{ uuid: string; online: boolean }> };
      return list.clients.find((c) => c.uuid === uuid && c.online);
    });
    assert.ok(listed);
    assert.match(await readFile(join(root, 'client', 'known_hosts'), 'utf8'), /ssh-ed25519 /);

    const table = await reach(['--list-clients'], env);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`online\\s+\\S+\\s+${uuid}`));

    const mcp = await mcpSession(server?.httpPort ?? 0, API_KEY);
    const run = await mcp.call('run_command', {
      client_id: uuid,
      cmd: 'echo "$((6*7))"',
      cwd: join(work, 'allowed'),
    });
    assert.equal(run.stdout, '42\n');
    const denied = await mcp.call('read_file', {
      client_id: uuid,
      path: join(work, 'allowed', 'escape', 'outside.txt'),
    });
    assert.equal(denied.error, 'PATH_DENIED');
    const dotdot = await mcp.call('list_files', { client_id: uuid, path: `${work}/allowed/../..` });
    assert.equal(dotdot.error, 'PATH_DENIED');
    const timeout = await mcp.call('run_command', {
      client_id: uuid,
      cmd: 'echo before; sleep 30',
      timeout: 1,
    });
    assert.equal(timeout.error, 'COMMAND_TIMEOUT');
    assert.equal((timeout.details as { stdout: string }).stdout, 'before\n');
  });

  test('aborting the agent (what SIGTERM does in bin.ts) ends main with 0', async () => {
    agentStop.abort();
    const r = await agent;
    assert.equal(r?.code, 0, r?.stderr);
  });

  test('a changed server host key stops the client with both fingerprints and exit 3', async () => {
    const knownHosts = join(root, 'client', 'known_hosts');
    const pinned = await readFile(knownHosts, 'utf8');
    const other = generateKeyPair('other').publicKey.split(' ').slice(0, 2).join(' ');
    await writeFile(knownHosts, `${pinned.split(' ')[0]} ${other}\n`);
    try {
      const r = await reach([], env);
      assert.equal(r.code, 3);
      assert.ok(r.stderr.includes(server?.hostKeyFingerprint ?? 'missing'), r.stderr);
      const list = await reach(['--list-clients'], env);
      assert.notEqual(list.code, 0);
    } finally {
      await writeFile(knownHosts, pinned);
    }
  });
});
