import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { McpHttpEndpoints } from '../mcp/http-endpoints.ts';
import { createHttpApp } from './http-app.ts';
import { locateStaticUi } from './static-ui.ts';

const root = await mkdtemp(join(tmpdir(), 'reach-static-ui-'));
after(() => rm(root, { recursive: true, force: true }));
const built = join(root, 'build');
await mkdir(join(built, '_app', 'immutable', 'chunks'), { recursive: true });
await writeFile(join(built, 'index.html'), '<!doctype html><title>Reach</title>');
await writeFile(join(built, '_app', 'immutable', 'chunks', 'a1b2.js'), 'export const x = 1;');
await writeFile(join(built, '_app', 'immutable', 'chunks', 'a1b2.js.gz'), gzipSync('export const x = 1;'));
await writeFile(join(built, '_app', 'version.json'), '{"version":"1"}');
await writeFile(join(root, 'secret.txt'), 'outside the build');

function app(dir: string) {
  return createHttpApp({
    apiKeys: ['k3y'],
    maxBodyBytes: 1024 * 1024,
    allowedHosts: () => ['127.0.0.1'],
    mcp: {} as McpHttpEndpoints,
    health: () => ({
      status: 'ok',
      version: '0',
      uptime_s: 0,
      clients: { online: 0, total: 0 },
      webhooks: { pending: 0, dead: 0 },
      mcp: { sessions: 0, expired: 0, evicted: 0 },
    }),
    ui: locateStaticUi(dir),
  });
}

describe('static web UI', () => {
  const ui = app(built);

  test('/ and deep links answer index.html without a key, never cached', async () => {
    for (const path of ['/', '/clients/0b5e3c1e-1111-4222-8333-444455556666', '/login?next=%2Fhistory']) {
      const res = await ui.request(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.match(await res.text(), /<title>Reach<\/title>/);
    }
  });

  test('hashed assets are cached a year; gzip is served when accepted', async () => {
    const plain = await ui.request('/_app/immutable/chunks/a1b2.js');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(await plain.text(), 'export const x = 1;');
    const gz = await ui.request('/_app/immutable/chunks/a1b2.js', {
      headers: { 'accept-encoding': 'gzip, br' },
    });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    const unhashed = await ui.request('/_app/version.json');
    assert.equal(unhashed.headers.get('content-type'), 'application/json');
    assert.equal(unhashed.headers.get('cache-control'), 'no-cache');
  });

  test('a missing asset, a path out of the build, /api and /mcp get the JSON errors, not the page', async () => {
    // Unknown paths fall through to the key check, then to the JSON 404.
    assert.equal((await ui.request('/_app/immutable/chunks/nope.js')).status, 401);
    const missing = await ui.request('/_app/immutable/chunks/nope.js', {
      headers: { authorization: 'Bearer k3y' },
    });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: string }).error, 'INVALID_ARGUMENT');
    for (const path of ['/..%2fsecret.txt', '/%2e%2e/secret.txt']) {
      const res = await ui.request(path);
      assert.notEqual(await res.text(), 'outside the build', path);
    }
    const api = await ui.request('/api/clients');
    assert.equal(api.status, 401);
    assert.equal(((await api.json()) as { error: string }).error, 'UNAUTHORIZED');
    const mcp = await ui.request('/mcp');
    assert.equal(mcp.status, 401);
    const post = await ui.request('/', { method: 'POST' });
    assert.equal(post.status, 401, 'only GET and HEAD reach the files');
  });

  test('without a build, / says how to build it and other paths stay 404', async () => {
    const none = app(join(root, 'not-built'));
    const page = await none.request('/', { headers: { accept: 'text/html' } });
    assert.equal(page.status, 404);
    assert.match(await page.text(), /npm run build/);
    const json = await none.request('/');
    assert.equal(json.status, 404);
    const body = (await json.json()) as { error: string; message: string; recovery_hint: string };
    assert.equal(body.error, 'FILE_NOT_FOUND');
    assert.match(body.recovery_hint, /npm run build/);
    assert.equal((await none.request('/clients/x')).status, 401, 'falls through to the key check');
  });
});
