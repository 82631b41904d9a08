/**
 * The case that fails on today's MCP clients without jobs (#19): a 90 s command, called through
 * the official SDK client with its default 60 s request timeout. run_command answers at its
 * default wait (25 s) with a running job, and job_wait calls (≤ 50 s each) collect all of its
 * output and its exit code. About 90 s of wall time, mostly sleeping: it runs beside other files.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type ClientProcess, type ServerProcess, startClient, startHttpServer } from './harness.ts';
import { online, sdkClient, waitOut } from './jobs-fixture.ts';
import { ok } from './mcp-client.ts';

const API_KEY = 'jobs-long-api-key-3f9a2c';

describe('a 90 s command through an SDK client that cuts calls at 60 s', () => {
  let server: ServerProcess;
  let client: ClientProcess;
  let mcp: Client;

  before(async () => {
    server = await startHttpServer({ apiKey: API_KEY });
    mcp = await sdkClient(server, API_KEY);
    client = await startClient(server, { displayName: 'long-box' });
    await online(mcp, client.uuid);
  });
  after(async () => {
    await mcp?.close();
    await client?.stop('SIGKILL');
    await server?.stop();
  });

  test('run_command comes back as a running job, job_wait collects everything', async () => {
    const started = Date.now();
    const r = await ok(mcp, 'run_command', {
      cmd: 'for i in $(seq 1 90); do echo "tick $i"; sleep 1; done; echo bye >&2; exit 9',
      timeout: 600,
    });
    const answeredMs = Date.now() - started;
    assert.equal(r.status, 'running', JSON.stringify(r));
    assert.ok(answeredMs < 60_000, `answered after ${answeredMs} ms`);
    assert.match(r.stdout_tail, /tick 1\n/);
    const w = await waitOut(mcp, r.job_id);
    const expected = Array.from({ length: 90 }, (_, i) => `tick ${i + 1}\n`).join('');
    assert.equal(w.stdout, expected);
    assert.equal(w.stderr, 'bye\n');
    assert.equal(w.last.status, 'exited');
    assert.equal(w.last.exit_code, 9);
    assert.ok(w.calls >= 2, `${w.calls} job_wait calls`);
  });
});
