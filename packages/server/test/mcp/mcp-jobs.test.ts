/**
 * Jobs (#19) end to end: a real reach-server and `reach` processes over loopback, the official MCP
 * SDK client with its default 60 s request timeout. run_command past its `wait` becomes a job that
 * survives the server's and the client's SIGKILL; job_output pages it all; job_cancel stops the
 * whole process group, offline too (sent when the client is back).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { freePort } from '../../../../test-support/openssh.ts';
import { type RunningWebhookTestReceiver, runWebhookTestReceiver } from '../../src/webhooks/test-receiver.ts';
import {
  type ClientProcess,
  eventually,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './harness.ts';
import { groupAlive, kill9, online, restartClient, sdkClient, waitOut } from './jobs-fixture.ts';
import { fails, ok } from './mcp-client.ts';

const API_KEY = 'jobs-test-api-key-7c1d9e';

describe('jobs through MCP: run_command past its wait, job tools, restarts', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reach-jobs-server-'));
  const work = mkdtempSync(join(tmpdir(), 'reach-jobs-work-'));
  let ports: string[] = [];
  let server: ServerProcess;
  let client: ClientProcess;
  let restarted: ReturnType<typeof restartClient> | undefined;
  let mcp: Client;
  let receiver: RunningWebhookTestReceiver;
  const hooks = () =>
    (existsSync(join(work, 'hooks.jsonl')) ? readFileSync(join(work, 'hooks.jsonl'), 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).payload as { event: string; data: Record<string, unknown> });
  const pgidOf = async (jobId: string) => {
    const [job, uuid] = jobId.split('@');
    const rec = JSON.parse(readFileSync(join(client.home, 'jobs', job ?? '', 'job.json'), 'utf8'));
    assert.ok(uuid);
    return rec.pgid as number;
  };
  const startServer = async () => {
    server = await startHttpServer({
      apiKey: API_KEY,
      dataDir,
      args: ports,
      env: { REACH_WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hook` },
    });
    mcp = await sdkClient(server, API_KEY);
  };

  before(async () => {
    receiver = await runWebhookTestReceiver({ port: 0, logFile: join(work, 'hooks.jsonl') });
    ports = ['--port', String(await freePort()), '--ssh-port', String(await freePort())];
    await startServer();
    client = await startClient(server, { displayName: 'jobs-box', env: { REACH_RECONNECT_DELAY: '0.2' } });
    await online(mcp, client.uuid);
  });
  after(async () => {
    if (restarted) await kill9(restarted.proc);
    await client?.stop('SIGKILL');
    await kill9(server.proc);
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  test('a command that ends within wait answers as run_command always has', async () => {
    const r = await ok(mcp, 'run_command', { cmd: 'echo hi; echo err >&2; exit 3', cwd: work });
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.returncode, 3);
    assert.equal(r.job_id, undefined);
    // Nothing is kept of a command that never became a job.
    assert.deepEqual((await ok(mcp, 'job_list', { client_id: client.uuid })).jobs, []);
  });

  test('past wait it becomes a job; job_wait collects the output and exit code', async () => {
    const r = await ok(mcp, 'run_command', {
      cmd: 'echo start; sleep 2; echo done; echo e >&2; exit 5',
      wait: 0.5,
      client_id: client.uuid,
    });
    assert.equal(r.status, 'running', JSON.stringify(r));
    assert.match(r.job_id, /^job-[0-9a-f]{16}@/);
    assert.equal(r.stdout_tail, 'start\n');
    assert.match(r.hint, /job_wait/);
    const w = await waitOut(mcp, r.job_id);
    assert.equal(w.stdout, 'start\ndone\n');
    assert.equal(w.stderr, 'e\n');
    assert.equal(w.last.status, 'exited');
    assert.equal(w.last.exit_code, 5);
    const s = await ok(mcp, 'job_status', { job_id: r.job_id });
    assert.equal(s.exit_code, 5);
    assert.equal(s.stdout_bytes, 11);
    const listed = await ok(mcp, 'job_list', {});
    assert.ok(listed.jobs.some((j: { job_id: string }) => j.job_id === r.job_id));
    // Its end is webhooked once, with the exit code, and audited; the running answer was not.
    const ended = await eventually(async () => {
      const found = hooks().filter((h) => h.event === 'command_executed' && h.data.job_id === r.job_id);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(ended.length, 1);
    assert.equal(ended[0]?.data.returncode, 5);
    assert.equal(ended[0]?.data.outcome, 'OK');
    assert.equal(
      hooks().filter((h) => h.event === 'command_executed' && h.data.returncode === null).length,
      0,
    );
    const audit = await ok(mcp, 'get_audit_log', { tool: 'job_ended' });
    assert.ok(JSON.stringify(audit).includes(r.job_id.split('@')[0]), JSON.stringify(audit).slice(0, 500));
    assert.equal((await ok(mcp, 'job_status', { job_id: r.job_id })).reported, true);
  });

  test('job_output pages 5 MiB of binary output exactly', async () => {
    const file = join(work, 'random.bin');
    const r = await ok(mcp, 'run_command', {
      cmd: `head -c 5242880 /dev/urandom | tee ${file}`,
      wait: 0,
      client_id: client.uuid,
    });
    await waitOut(mcp, r.job_id);
    const parts: Buffer[] = [];
    let offset = 0;
    let pages = 0;
    for (;;) {
      const p = await ok(mcp, 'job_output', { job_id: r.job_id, offset, limit: 1_000_000 });
      parts.push(Buffer.from(p.content, p.binary ? 'base64' : 'utf8'));
      offset = p.next_offset;
      pages += 1;
      if (p.eof) break;
    }
    const got = Buffer.concat(parts);
    assert.equal(got.length, 5 * 1024 * 1024);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(got), sha(readFileSync(file)));
    assert.ok(pages >= 6, `${pages} pages`);
  });

  test('the server SIGKILLed and restarted: the job ran on, job_status answers, output complete', async () => {
    const r = await ok(mcp, 'run_command', {
      cmd: 'for i in 1 2 3 4 5 6; do echo line $i; sleep 0.5; done',
      wait: 0,
      client_id: client.uuid,
    });
    await kill9(server.proc);
    await startServer();
    await online(mcp, client.uuid);
    const s = await ok(mcp, 'job_status', { job_id: r.job_id });
    assert.ok(['running', 'exited'].includes(s.status), s.status);
    const w = await waitOut(mcp, r.job_id);
    assert.equal(w.stdout, [1, 2, 3, 4, 5, 6].map((i) => `line ${i}\n`).join(''));
    assert.equal(w.last.exit_code, 0);
    // The server that started it is gone: the new one's sweep on reconnect reports its end.
    const ended = await eventually(async () => {
      const found = hooks().filter((h) => h.event === 'command_executed' && h.data.job_id === r.job_id);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(ended.length, 1);
  });

  test('job_cancel stops the whole group, a TERM-ignoring child included', async () => {
    const r = await ok(mcp, 'run_command', {
      cmd: `sh -c 'trap "" INT TERM; sleep 60' & sleep 60`,
      wait: 0,
      client_id: client.uuid,
    });
    const pgid = await pgidOf(r.job_id);
    await eventually(async () => ((await groupAlive(pgid)).length >= 2 ? true : undefined));
    const c = await ok(mcp, 'job_cancel', { job_id: r.job_id });
    assert.equal(c.outcome, 'stopped', JSON.stringify(c));
    assert.deepEqual(c.pids, []);
    assert.equal(c.job.status, 'cancelled');
    assert.deepEqual(await groupAlive(pgid), []);
  });

  test('bad and unknown job ids are typed errors', async () => {
    await fails(mcp, 'job_status', { job_id: 'nope' }, 'INVALID_ARGUMENT');
    await fails(mcp, 'job_status', { job_id: `job-0000000000000000@${client.uuid}` }, 'JOB_NOT_FOUND');
  });

  test('the client SIGKILLed: its job lives on, is found again, and an offline cancel is sent on return', async () => {
    const marker = join(work, 'marker');
    const kept = await ok(mcp, 'run_command', {
      cmd: `echo before; sleep 2; echo after; touch ${marker}`,
      wait: 0,
      client_id: client.uuid,
    });
    const doomed = await ok(mcp, 'run_command', { cmd: 'sleep 60', wait: 0, client_id: client.uuid });
    const doomedPgid = await pgidOf(doomed.job_id);
    await kill9(client.proc);
    await eventually(async () => {
      const list = await ok(mcp, 'list_clients');
      return (list.clients as { uuid: string; online: boolean }[]).some(
        (c) => c.uuid === client.uuid && !c.online,
      )
        ? true
        : undefined;
    });
    const queued = await ok(mcp, 'job_cancel', { job_id: doomed.job_id });
    assert.equal(queued.outcome, 'unknown');
    assert.equal(queued.queued, true);
    assert.equal((await groupAlive(doomedPgid)).length > 0, true, 'a job outlives its client');
    restarted = restartClient(client.home, server.sshPort);
    await online(mcp, client.uuid);
    const w = await waitOut(mcp, kept.job_id);
    assert.equal(w.stdout, 'before\nafter\n');
    assert.equal(w.last.status, 'exited');
    await eventually(async () => ((await groupAlive(doomedPgid)).length === 0 ? true : undefined));
    // The cancel ends the job once its INT/TERM/KILL sequence is through (graces included).
    await eventually(async () => {
      const d = await ok(mcp, 'job_status', { job_id: doomed.job_id });
      return d.status === 'cancelled' ? true : undefined;
    });
  });
});
