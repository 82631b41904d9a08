/**
 * A client SIGKILLed while run_command runs: the command's processes die with it (the watchdog),
 * and when the watchdog died too, the next start of the client kills what was left (the ledger).
 * Real server and client processes over loopback SSH; the command is `sleep 3; touch marker`, so
 * a surviving command would make its marker.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listProcesses } from '../src/spawner/proc-stat.ts';
import { setupClient, startClientProcess } from './helpers/client-process.ts';
import { isDead, waitFor } from './helpers/rpc-context.ts';
import { mcpSession, type ServerProcess, startServerProcess } from './helpers/server-process.ts';

const API_KEY = 'kill-client-test-api-key-0123456789';

describe('kill -9 of the client while a command runs', () => {
  let root = '';
  let work = '';
  let uuid = '';
  let server: ServerProcess | undefined;
  let env: Record<string, string | undefined> = {};
  const clients: ChildProcess[] = [];
  const strays: number[] = [];

  /** Starts the agent process (after stopping any left from an earlier test: one uuid, one agent). */
  const startClient = async () => {
    for (const old of clients) {
      if (old.exitCode === null && old.signalCode === null) {
        const exited = new Promise((r) => old.once('exit', r));
        old.kill('SIGKILL');
        await exited;
      }
    }
    const mcp = await mcpSession(server?.httpPort ?? 0, API_KEY);
    const online = async () => {
      const r = await mcp.call('list_clients', {});
      const list = r.clients as Array<{ uuid: string; online: boolean }> | undefined;
      return list?.some((x) => x.uuid === uuid && x.online) === true;
    };
    // The server must have seen the killed agent go first, or "online" would be the old link.
    assert.ok(await waitFor(async () => !(await online()), 20_000), 'the old agent went offline');
    const c = startClientProcess(env);
    clients.push(c.child);
    assert.ok(await waitFor(online, 20_000), c.stderr());
    return { ...c, mcp };
  };
  /** Starts the command, returns once it is running: the pids of its shell and its sleep. */
  const startCommand = async (
    mcp: Awaited<ReturnType<typeof startClient>>['mcp'],
    name: string,
    sleepS = 3,
  ) => {
    const pidFile = join(work, `${name}.pids`);
    const call = mcp.call('run_command', {
      client_id: uuid,
      cmd: `sleep ${sleepS} & echo "$$ $!" > ${name}.pids; wait; touch ${name}.marker`,
      cwd: work,
      timeout: 60,
    });
    assert.ok(await waitFor(async () => (await readFile(pidFile, 'utf8').catch(() => '')).endsWith('\n')));
    const pids = (await readFile(pidFile, 'utf8')).trim().split(' ').map(Number);
    strays.push(...pids);
    return { call, pids, marker: join(work, `${name}.marker`) };
  };

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-kill-client-')));
    work = join(root, 'work');
    await mkdir(work, { recursive: true });
    server = await startServerProcess(join(root, 'server'), API_KEY);
    env = {
      REACH_HOME: join(root, 'client'),
      PATH: process.env.PATH,
      REACH_SERVER_HOST: '127.0.0.1',
      REACH_SERVER_PORT: String(server.sshPort),
      REACH_RECONNECT_DELAY: '0.2',
      REACH_LOG_LEVEL: 'warn',
    };
    uuid = await setupClient(env, join(root, 'server'));
  });
  after(async () => {
    for (const c of clients) c.kill('SIGKILL');
    for (const p of strays) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {}
    }
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  test('the watchdog kills the command group at once; the call fails instead of waiting', async () => {
    const client = await startClient();
    const { call, pids, marker } = await startCommand(client.mcp, 'a');
    client.child.kill('SIGKILL');
    const killedAt = Date.now();
    // Gone within 2 s of the kill (the watchdog: SIGTERM at once, SIGKILL 1 s later).
    assert.ok(await waitFor(async () => (await Promise.all(pids.map(isDead))).every(Boolean), 2000));
    const result = await call;
    assert.equal(result.error, 'CONNECTION_ERROR', JSON.stringify(result));
    assert.ok(Date.now() - killedAt < 2000, 'the in-flight call ended within 2 s of the kill');
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(existsSync(marker), false, 'the command never finished');
  });

  test('a client killed mid-upload leaves a temp file that its next start removes', async () => {
    const client = await startClient();
    // Sparse on the server's side, so it costs no disk there; 512 MiB takes long enough to catch.
    const source = join(root, 'server', 'transfers', 'big.bin');
    await mkdir(join(root, 'server', 'transfers'), { recursive: true });
    const fh = await open(source, 'w');
    await fh.truncate(512 * 1024 * 1024);
    await fh.close();
    const dest = join(work, 'up');
    await mkdir(dest);
    const call = client.mcp.call('upload_file', {
      client_id: uuid,
      local_path: source,
      remote_path: join(dest, 'big.bin'),
    });
    const partials = async () => (await readdir(dest)).filter((n) => n.includes('.reach-partial-'));
    assert.ok(await waitFor(async () => (await partials()).length > 0, 20_000), 'the upload started');
    client.child.kill('SIGKILL');
    await call;
    assert.equal((await partials()).length, 1, 'the killed receiver left its temp file');
    await startClient();
    assert.deepEqual(await readdir(dest), [], 'swept at start-up');
    await rm(source);
  });

  test('client and watchdog both SIGKILLed: the next start kills the group the ledger names', async () => {
    const client = await startClient();
    // Long enough to outlast a restart on a loaded machine: only a kill keeps the marker away.
    const { call, pids, marker } = await startCommand(client.mcp, 'b', 30);
    const watchdog = (await listProcesses()).find((p) => p.ppid === client.child.pid);
    assert.ok(watchdog, 'the client runs a watchdog');
    process.kill(watchdog.pid, 'SIGKILL');
    client.child.kill('SIGKILL');
    await call;
    assert.equal((await Promise.all(pids.map(isDead))).some(Boolean), false, 'left running');
    await startClient();
    assert.ok(await waitFor(async () => (await Promise.all(pids.map(isDead))).every(Boolean), 2000));
    assert.equal(existsSync(marker), false, 'the command never finished');
  });
});
