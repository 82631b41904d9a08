import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { defaultAllowedHosts } from '../../src/http/host-check.ts';
import { createHttpApp } from '../../src/http/http-app.ts';
import { type HttpServerHandle, listenHttp } from '../../src/http/http-server.ts';
import { createLogger } from '../../src/log/logger.ts';
import { McpHttpEndpoints } from '../../src/mcp/http-endpoints.ts';
import { McpEndpointFactory } from '../../src/mcp/mcp-server.ts';
import { LiveEvents } from '../../src/operations/live-events.ts';
import { defineTool } from '../../src/operations/operation-definition.ts';
import type { OperationServices } from '../../src/operations/operation-services.ts';
import { Operations } from '../../src/operations/operations.ts';
import { callTool } from './mcp-client.ts';

/**
 * Idle expiry of MCP Streamable HTTP sessions over a real socket with the SDK client, on an
 * injected clock (the HTTP stack and session table are the server's own; the tools are two
 * local ones, since expiry never reaches a client).
 */
const KEY = 'expiry-test-key-0b5d9c';
const IDLE_MS = 60_000;

let now = 1_000_000;
let releaseHold: () => void = () => {};
let holdReached: () => void = () => {};
let mcp: McpHttpEndpoints;
let http: HttpServerHandle;
let url: URL;

const tools = [
  defineTool({
    name: 'echo',
    description: 'returns its text',
    input: z.object({ text: z.string() }),
    handler: async ({ text }) => ({ text }),
  }),
  defineTool({
    name: 'hold',
    description: 'returns once the test releases it',
    input: z.object({}),
    handler: () =>
      new Promise((resolve) => {
        releaseHold = () => resolve({ released: true });
        holdReached();
      }),
  }),
];

async function connect(): Promise<{ client: Client; sessionId: string }> {
  const client = new Client({ name: 'expiry-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { Authorization: `Bearer ${KEY}` } },
  });
  await client.connect(transport);
  return { client, sessionId: transport.sessionId ?? '' };
}

/** A raw tools/list on a session id: 200 while it lives, 404 once it is gone. */
async function statusOf(sessionId: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  await res.arrayBuffer();
  return res.status;
}

before(async () => {
  const log = createLogger('silent');
  const operations = new Operations({
    // The two tools above use no service and act on no client.
    services: {} as OperationServices,
    definitions: tools,
    activity: { operation: () => {} },
    events: new LiveEvents(),
    log,
  });
  const factory = new McpEndpointFactory({ operations, version: 'test', log });
  mcp = new McpHttpEndpoints(factory, { idleTimeoutMs: IDLE_MS, now: () => now, log });
  let allowed: string[] = [];
  const app = createHttpApp({
    apiKeys: [KEY],
    maxBodyBytes: 1024 * 1024,
    allowedHosts: () => allowed,
    mcp,
    health: () => ({
      status: 'ok',
      version: 'test',
      uptime_s: 0,
      clients: { online: 0, total: 0 },
      webhooks: { pending: 0, dead: 0 },
      mcp: mcp.stats(),
    }),
  });
  http = await listenHttp(app, '127.0.0.1', 0);
  allowed = defaultAllowedHosts('127.0.0.1', http.port);
  url = new URL(`http://127.0.0.1:${http.port}/mcp`);
});

after(async () => {
  await mcp?.close();
  await http?.close();
});

test('a session left idle past the timeout is closed; one used within it is kept', async () => {
  // A caller that goes away without DELETE (what a crashed assistant or a flood leaves behind).
  const gone = await connect();
  await gone.client.close();
  const kept = await connect();
  now += IDLE_MS - 1;
  assert.equal((await callTool(kept.client, 'echo', { text: 'still here' })).body.text, 'still here');
  assert.equal(await statusOf(gone.sessionId), 200, 'not idle for the full timeout yet');
  const expiredBefore = mcp.stats().expired;
  now += IDLE_MS;
  // Any request sweeps. `kept` stays: the SDK client holds its GET event stream open, so the
  // session is in use however long it has been since its last call.
  await callTool(kept.client, 'echo', { text: 'x' });
  assert.equal(await statusOf(gone.sessionId), 404, 'idle past the timeout: gone');
  assert.equal(mcp.stats().expired, expiredBefore + 1);
  assert.equal((await callTool(kept.client, 'echo', { text: 'ok' })).body.text, 'ok');
  await kept.client.close();
});

test('a session with a tool call in progress is not idle, however long the call runs', async () => {
  const busy = await connect();
  const reached = new Promise<void>((resolve) => {
    holdReached = resolve;
  });
  const call = callTool(busy.client, 'hold', {}, { timeout: 600_000 });
  await reached;
  now += IDLE_MS * 10;
  const other = await connect();
  await other.client.close();
  releaseHold();
  const result = await call;
  assert.equal(result.isError, false);
  assert.equal(result.body.released, true);
  assert.equal(await statusOf(busy.sessionId), 200);
  await busy.client.close();
});

test('an expired session is 404 on every verb, and the SDK client can start a new one', async () => {
  const s = await connect();
  await s.client.close();
  now += IDLE_MS + 1;
  assert.equal(await statusOf(s.sessionId), 404);
  const del = await fetch(url, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${KEY}`, 'mcp-session-id': s.sessionId },
  });
  assert.equal(del.status, 404);
  await del.arrayBuffer();
  const fresh = await connect();
  assert.equal((await callTool(fresh.client, 'echo', { text: 'new' })).body.text, 'new');
  await fresh.client.close();
});
