/**
 * run_on_clients (#19): one command on several real `reach` processes and many simulated clients
 * through the official MCP SDK client. Tags, capabilities and queries pick the right clients, an
 * offline client is a row of its own, one failing client does not fail the others, identical
 * answers are grouped with their clients folded, and a long run becomes a fan-out job.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  authorizeSimKeys,
  connectManyClients,
  generateSimKeys,
  type ManyClients,
} from '../helpers/many-clients.ts';
import { type ClientProcess, type ServerProcess, startClient, startHttpServer } from './harness.ts';
import { online, sdkClient } from './jobs-fixture.ts';
import { fails, ok } from './mcp-client.ts';

const API_KEY = 'fanout-api-key-19a7c3d2';
const SIMS = 40;

describe('run_on_clients over real and simulated clients', () => {
  let server: ServerProcess;
  let mcp: Client;
  const real: ClientProcess[] = [];
  let sims: ManyClients;

  before(async () => {
    server = await startHttpServer({ apiKey: API_KEY, args: ['--max-unauthenticated-per-source', '200'] });
    mcp = await sdkClient(server, API_KEY);
    for (const [name, tags] of [
      ['web-1', 'web,prod'],
      ['web-2', 'web,prod'],
      ['web-3', 'web,staging'],
      ['gone-1', 'web,prod'],
    ] as const) {
      real.push(await startClient(server, { displayName: name, env: { REACH_TAGS: tags } }));
    }
    for (const c of real) await online(mcp, c.uuid);
    // web-2 fails the command below (a marker in its home); gone-1 goes offline.
    writeFileSync(join(real[1]!.home, 'fail'), '');
    await real[3]!.stop('SIGKILL');
    const keys = generateSimKeys(SIMS);
    await authorizeSimKeys(server.dataDir, keys);
    sims = await connectManyClients({ port: server.sshPort, keys, tagsOf: () => ['sim', 'prod'] });
  });
  after(async () => {
    await sims?.close();
    await mcp?.close();
    for (const c of real) await c.stop('SIGKILL').catch(() => undefined);
    await server?.stop();
  });

  const CMD = 'echo hello; test ! -e "$REACH_HOME/fail" || { echo broken >&2; exit 3; }';

  test('tags pick the clients; offline and failing ones are rows of their own', async () => {
    const r = await ok(mcp, 'run_on_clients', {
      cmd: CMD,
      target: { tags: ['web', 'prod'], online_only: false },
    });
    assert.equal(r.status, 'done');
    assert.equal(r.recap, 'ok 1 · failed 1 · offline 1 · timeout 0');
    const byName = Object.fromEntries(r.rows.map((row: { client: string }) => [row.client, row]));
    assert.deepEqual(Object.keys(byName).sort(), ['gone-1', 'web-1', 'web-2']);
    assert.equal(byName['web-1'].state, 'ok');
    assert.equal(byName['web-2'].state, 'failed');
    assert.equal(byName['web-2'].returncode, 3);
    assert.equal(byName['gone-1'].state, 'offline');
    const failed = r.groups.find((g: { state: string }) => g.state === 'failed');
    assert.equal(failed.stderr, 'broken\n');
    // The audit trail has a row per client, offline one included.
    const audit = await ok(mcp, 'get_audit_log', { tool: 'run_on_clients' });
    const mine = JSON.stringify(audit).split(r.job_id).length - 1;
    assert.equal(mine, 3, JSON.stringify(audit).slice(0, 800));
    // online_only (the default) leaves the offline one out.
    const on = await ok(mcp, 'run_on_clients', { cmd: CMD, target: { tags: ['web', 'prod'] } });
    assert.equal(on.rows_total, 2);
  });

  test('identical answers from many clients are one group, clients folded', async () => {
    const r = await ok(mcp, 'run_on_clients', {
      cmd: 'echo same',
      target: { tags: ['sim'] },
      max_parallel: 8,
    });
    assert.equal(r.counts.ok, SIMS);
    assert.equal(r.groups.length, 1);
    assert.equal(r.groups[0].count, SIMS);
    assert.equal(r.groups[0].clients, `sim-[0-${SIMS - 1}]`);
    assert.equal(r.groups[0].stdout, 'sim\n');
    assert.equal(r.rows.length, 20, 'the first 20 rows; job_output pages the rest');
    const page = await ok(mcp, 'job_output', { job_id: r.job_id, offset: 20, limit: 100 });
    assert.equal(page.rows.length, SIMS - 20);
    assert.equal(page.eof, true);
  });

  test('capabilities and query select; a target with no selector is refused', async () => {
    const jobs = await ok(mcp, 'run_on_clients', { cmd: 'echo x', target: { capabilities: ['jobs'] } });
    assert.deepEqual(jobs.rows.map((r: { client: string }) => r.client).sort(), ['web-1', 'web-2', 'web-3']);
    const q = await ok(mcp, 'run_on_clients', { cmd: 'echo x', target: { query: 'WEB-3' } });
    assert.deepEqual(
      q.rows.map((r: { client: string }) => r.client),
      ['web-3'],
    );
    await fails(mcp, 'run_on_clients', { cmd: 'echo x', target: {} }, 'INVALID_ARGUMENT');
    await fails(
      mcp,
      'run_on_clients',
      { cmd: 'echo x', target: { client_ids: ['no-such-box'] } },
      'CLIENT_NOT_FOUND',
    );
  });

  test('past wait it answers with a fan-out job; job_wait collects the rest; cancel stops it', async () => {
    const r = await ok(mcp, 'run_on_clients', {
      cmd: 'sleep 2; echo late',
      target: { tags: ['web'] },
      wait: 0.5,
    });
    assert.equal(r.status, 'running');
    assert.match(r.job_id, /^fan-[0-9a-f]{16}$/);
    assert.ok(
      r.rows.every((row: { job_id?: string }) => /@/.test(row.job_id ?? '')),
      JSON.stringify(r.rows),
    );
    const w = await ok(mcp, 'job_wait', { job_id: r.job_id, timeout: 30 });
    assert.equal(w.status, 'done');
    assert.equal(w.counts.ok, 3);
    assert.equal(w.groups[0].stdout, 'late\n');
    const s = await ok(mcp, 'job_status', { job_id: r.job_id });
    assert.equal(s.recap, 'ok 3 · failed 0 · offline 0 · timeout 0');
    const long = await ok(mcp, 'run_on_clients', { cmd: 'sleep 60', target: { tags: ['web'] }, wait: 0.5 });
    const c = await ok(mcp, 'job_cancel', { job_id: long.job_id });
    assert.equal(c.status, 'done');
    assert.equal(c.counts.cancelled, 3, JSON.stringify(c.counts));
  });
});
