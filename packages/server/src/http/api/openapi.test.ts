import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../log/logger.ts';
import { allTools } from '../../mcp/tools/index.ts';
import { LiveEvents } from '../../operations/live-events.ts';
import { Operations } from '../../operations/operations.ts';
import { buildHttpApi } from './build-api.ts';
import { openApiPath } from './openapi.ts';

function api() {
  const events = new LiveEvents();
  const operations = new Operations({
    services: {} as never,
    definitions: allTools,
    activity: { operation() {} },
    events,
    log: createLogger('silent'),
  });
  return buildHttpApi({
    apiKeys: ['k'],
    sessionTtlMs: 1000,
    allowedHosts: () => ['127.0.0.1'],
    operations,
    history: { query: () => ({ commands: [], next_cursor: null }) },
    metrics: { range: () => [] },
    webhooks: { stats: () => ({ pending: 0, dead: 0, inFlight: 0 }) },
    transfers: { roots: ['/nonexistent'] } as never,
    maxBodyBytes: 1000,
    version: '0.0.0',
  });
}

test('every route registered under /api is in the OpenAPI document, and nothing else is', async () => {
  const a = api();
  const res = await a.app.request('/openapi.json', { headers: { authorization: 'Bearer k' } });
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.equal(doc.openapi, '3.1.0');
  // What Hono actually serves (middleware and the 404 catch-all are ALL routes).
  const registered = a.app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => `${r.method.toLowerCase()} /api${openApiPath(r.path)}`);
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.keys(ops).map((m) => `${m} ${p}`),
  );
  assert.deepEqual([...new Set(registered)].sort(), documented.sort());
  for (const want of [
    'post /api/session',
    'get /api/clients',
    'patch /api/clients/{uuid}',
    'put /api/clients/{uuid}/files/content',
    'get /api/history',
    'get /api/openapi.json',
  ]) {
    assert.ok(documented.includes(want), want);
  }
  a.close();
});

test('parameters, bodies and answers come from the zod schemas', async () => {
  const a = api();
  const doc = (await (
    await a.app.request('/openapi.json', { headers: { authorization: 'Bearer k' } })
  ).json()) as {
    paths: Record<string, Record<string, any>>;
  };
  const history = doc.paths['/api/history']!.get;
  const names = history.parameters.map((p: { name: string }) => p.name);
  assert.deepEqual(names, ['q', 'client', 'exit_code', 'caller', 'since', 'until', 'limit', 'cursor']);
  const command = doc.paths['/api/clients/{uuid}/commands']!.post;
  assert.equal(command.parameters[0].in, 'path');
  assert.ok(command.requestBody.content['application/json'].schema.required.includes('cmd'));
  assert.ok(command.responses['200'].content['application/json'].schema);
  assert.equal(
    command.responses.default.content['application/json'].schema.$ref,
    '#/components/schemas/Error',
  );
  const upload = doc.paths['/api/clients/{uuid}/files/content']!.put;
  assert.ok(upload.requestBody.content['application/octet-stream']);
  assert.deepEqual(doc.paths['/api/session']!.post.security, []);
  const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  a.close();
});
