/**
 * A client SIGKILLed while run_command runs: the command's processes die with it (the watchdog),
 * and when the watchdog died too, the next start of the client kills what was left (the ledger).
 * Real server and client processes over loopback SSH; the command is `sleep 3; touch marker`, so
 * a surviving command would make its marker.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
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

  const startClient = async () => {
    const c = startClientProcess(env);
    clients.push(c.child);
    const mcp = await mcpSession(server?.httpPort ?? 0, API_KEY);
    const up = await waitFor(async () => {
      const r = await mcp.call('list_clients', {});
      const list = r.clients as Array<{ uuid: string; online: boolean }> | undefined;
      return list?.some((x) => x.uuid === uuid && x.online) === true;
    }, 20_000);
    assert.ok(up, c.stderr());
    return { ...c, mcp };
  };
  /** Starts the command, returns once it is running: the pids of its shell and its sleep. */
  const startCommand = async (mcp: Awaited<ReturnType<typeof startClient>>['mcp'], name: string) => {
    const pidFile = join(work, `${name}.pids`);
    const call = mcp.call('run_command', {
      client_id: uuid,
      cmd: `sleep 3 & echo "$$ $!" > ${name}.pids; wait; touch ${name}.marker`,
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

  test('client and watchdog both SIGKILLed: the next start kills the group the ledger names', async () => {
    const client = await startClient();
    const { call, pids, marker } = await startCommand(client.mcp, 'b');
    const watchdog = (await listProcesses()).find((p) => p.ppid === client.child.pid);
    assert.ok(watchdog, 'the client runs a watchdog');
    process.kill(watchdog.pid, 'SIGKILL');
    client.child.kill('SIGKILL');
    await call;
    assert.equal((await Promise.all(pids.map(isDead))).some(Boolean), false, 'left running');
    await startClient();
    assert.ok(await waitFor(async () => (await Promise.all(pids.map(isDead))).every(Boolean), 2000));
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(existsSync(marker), false, 'the command never finished');
  });
});
