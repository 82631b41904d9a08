/**
 * A caller learns of a dead server at once: a tools/call without a progress token is answered as
 * plain JSON, so when reach-server is SIGKILLed mid-call the MCP SDK client's callTool rejects
 * with a connection error instead of waiting out its timeout. Calls with a progress token stream
 * over SSE with resumable event ids; a cancelled JSON call still stops the command on the client.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type ClientProcess,
  eventually,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './harness.ts';
import { ok } from './mcp-client.ts';

const API_KEY = 'test-key-dead-server-5e2a';

async function connect(server: ServerProcess): Promise<Client> {
  const client = new Client({ name: 'reach-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
  });
  await client.connect(transport);
  return client;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/ Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('MCP calls when the server dies', () => {
  let server: ServerProcess;
  let agent: ClientProcess;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'reach-dead-server-'));
    server = await startHttpServer({ apiKey: API_KEY });
    agent = await startClient(server, { displayName: 'victim-host' });
    const mcp = await connect(server);
    await eventually(async () => ((await ok(mcp, 'list_clients')).online_count === 1 ? true : undefined));
    await mcp.close();
  });
  after(async () => {
    await agent?.stop();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('a call without a progress token is answered as JSON, one with a token as resumable SSE', async () => {
    const url = `http://127.0.0.1:${server.httpPort}/mcp`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${API_KEY}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    };
    const init = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    headers['mcp-session-id'] = init.headers.get('mcp-session-id') ?? '';
    await init.text();
    const call = (id: number, meta?: Record<string, unknown>) =>
      fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 'list_clients', arguments: {}, ...(meta ? { _meta: meta } : {}) },
        }),
      });
    const plain = await call(2);
    assert.match(plain.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await plain.json()) as { id: number; result: { content: Array<{ text: string }> } };
    assert.equal(body.id, 2);
    assert.equal(JSON.parse(body.result.content[0]?.text ?? '{}').online_count, 1);

    const streamed = await call(3, { progressToken: 'p1' });
    assert.match(streamed.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = await streamed.text();
    // The priming event gives the caller a Last-Event-ID to resume from.
    const ids = [...events.matchAll(/^id: (\S+)$/gm)].map((m) => m[1] ?? '');
    assert.ok(ids.length >= 2, events);
    assert.match(events, /"id":3/);
    // Resuming after the priming event replays the answer.
    const resumed = await fetch(url, {
      method: 'GET',
      headers: { ...headers, accept: 'text/event-stream', 'last-event-id': ids[0] ?? '' },
    });
    const reader = resumed.body?.getReader();
    let replay = '';
    while (!replay.includes('"id":3')) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      replay += new TextDecoder().decode(chunk.value);
    }
    await reader?.cancel();
    assert.match(replay, /"id":3/);
  });

  test('cancelling a JSON call stops the command on the client', async () => {
    const mcp = await connect(server);
    const pidFile = join(work, 'cancel.pid');
    const abort = new AbortController();
    const call = mcp
      .callTool(
        {
          name: 'run_command',
          arguments: { client_id: agent.uuid, cmd: `echo $$ > ${pidFile}; exec sleep 30`, timeout: 60 },
        },
        undefined,
        { signal: abort.signal, timeout: 60_000 },
      )
      .catch((err: unknown) => err);
    await eventually(async () =>
      existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n') ? true : undefined,
    );
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(alive(pid));
    abort.abort();
    await call;
    await eventually(async () => (alive(pid) ? undefined : true), 5000);
    await mcp.close();
  });

  // Last: it kills the server.
  test('SIGKILL of the server mid-call: the SDK client fails at once, not at its timeout', async () => {
    const mcp = await connect(server);
    const pidFile = join(work, 'dead.pid');
    const call = mcp
      .callTool(
        {
          name: 'run_command',
          arguments: { client_id: agent.uuid, cmd: `echo $$ > ${pidFile}; sleep 30`, timeout: 60 },
        },
        undefined,
        {
          timeout: 60_000,
        },
      )
      .then(
        () => 'answered',
        (err: unknown) => err,
      );
    await eventually(async () => (existsSync(pidFile) ? true : undefined));
    server.proc.kill('SIGKILL');
    const killedAt = Date.now();
    const outcome = await call;
    const ms = Date.now() - killedAt;
    assert.ok(outcome instanceof Error, String(outcome));
    assert.doesNotMatch(outcome.message, /timed out/i);
    assert.ok(ms < 2000, `the call ended ${ms} ms after the kill`);
    await mcp.close().catch(() => {});
  });
});
