import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { verifyReleaseManifest } from '@reach/protocol/node';
import { fakeRelease } from '../../test/helpers/release-fixture.ts';
import type { McpHttpEndpoints } from '../mcp/http-endpoints.ts';
import { generateReleaseKey } from '../releases/release-key.ts';
import { signReleaseDir } from '../releases/release-sign.ts';
import { ReleaseStore } from '../releases/release-store.ts';
import { createHttpApp } from './http-app.ts';
import { parseRange } from './release-routes.ts';

const root = await mkdtemp(join(tmpdir(), 'reach-release-routes-'));
after(() => rm(root, { recursive: true, force: true }));
const rel = await fakeRelease('1.4.0', root);
const body = rel.bodies['reach-linux-x86_64'] ?? Buffer.alloc(0);
const etag = `"${rel.manifest.artifacts[0]?.sha256}"`;

function app(requireApiKey: boolean) {
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
    releases: { store: new ReleaseStore(root), requireApiKey },
  });
}

describe('release routes', () => {
  const open = app(false);

  test('GET /latest/reach-linux: the whole file, length, ETag, no key needed', async () => {
    const r = await open.request('/latest/reach-linux');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String(body.length));
    assert.equal(r.headers.get('etag'), etag);
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), body);
    const v = await open.request('/releases/1.4.0/reach-linux-x86_64');
    assert.deepEqual(Buffer.from(await v.arrayBuffer()), body);
  });

  test('a range resumes a download; an open-ended and a suffix range work too', async () => {
    const r = await open.request('/latest/reach-linux', { headers: { range: 'bytes=100-199' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes 100-199/${body.length}`);
    assert.equal(r.headers.get('content-length'), '100');
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), body.subarray(100, 200));
    const rest = await open.request('/latest/reach-linux', { headers: { range: 'bytes=1000-' } });
    assert.deepEqual(Buffer.from(await rest.arrayBuffer()), body.subarray(1000));
    const tail = await open.request('/latest/reach-linux', { headers: { range: 'bytes=-10' } });
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), body.subarray(body.length - 10));
  });

  test('past the end is 416 with the size; If-None-Match is 304; a stale If-Range gets it all', async () => {
    const r = await open.request('/latest/reach-linux', { headers: { range: `bytes=${body.length}-` } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), `bytes */${body.length}`);
    const n = await open.request('/latest/reach-linux', { headers: { 'if-none-match': etag } });
    assert.equal(n.status, 304);
    const s = await open.request('/latest/reach-linux', {
      headers: { range: 'bytes=0-9', 'if-range': '"old"' },
    });
    assert.equal(s.status, 200);
    assert.equal(s.headers.get('content-length'), String(body.length));
    await s.arrayBuffer();
  });

  test('HEAD gives the headers without a body', async () => {
    const r = await open.request('/latest/reach-windows.exe', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String(rel.bodies['reach-windows-x86_64.exe']?.length));
    assert.equal((await r.arrayBuffer()).byteLength, 0);
  });

  test('no listing: unknown names and versions are 404, directories list nothing', async () => {
    for (const path of [
      '/latest/notes',
      '/releases/9.9.9/reach-linux',
      '/latest/..%2Frelease.json',
      '/releases/x/y',
    ]) {
      const r = await open.request(path);
      assert.equal(r.status, 404, path);
      assert.equal(((await r.json()) as { error: string }).error, 'FILE_NOT_FOUND');
    }
    // Not release routes: they fall through to the API key (401 here) or the 404 handler.
    for (const path of ['/latest/', '/releases/1.4.0/', '/releases/', '/latest']) {
      const r = await open.request(path);
      assert.ok(r.status === 401 || r.status === 404, `${path}: ${r.status}`);
      assert.doesNotMatch(await r.text(), /reach-linux/);
    }
    const m = await open.request('/latest/release.json');
    assert.equal(((await m.json()) as { version: string }).version, '1.4.0');
  });

  test('a signed release: what /latest serves verifies with the release key, as a client will check it', async () => {
    assert.equal((await open.request('/latest/release.json.minisig')).status, 404);
    const key = generateReleaseKey();
    await signReleaseDir(rel.dir, key);
    const manifest = Buffer.from(await (await open.request('/latest/release.json')).arrayBuffer());
    const sig = await open.request('/latest/release.json.minisig');
    assert.equal(sig.status, 200);
    const v = verifyReleaseManifest(manifest, await sig.text(), key.publicText);
    assert.equal(v.manifest.version, '1.4.0');
    assert.equal(v.keyId, key.keyId);
  });

  test('with releases-auth api-key, downloads need the bearer key', async () => {
    const locked = app(true);
    assert.equal((await locked.request('/latest/reach-linux')).status, 401);
    const r = await locked.request('/latest/reach-linux', { headers: { authorization: 'Bearer k3y' } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });
});

test('parseRange follows RFC 9110: one range, clamped end, others ignored', () => {
  assert.deepEqual(parseRange('bytes=0-', 10), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-1,4-5', 10), undefined);
  assert.equal(parseRange('items=0-1', 10), undefined);
  assert.equal(parseRange('bytes=5-2', 10), undefined);
  assert.equal(parseRange(undefined, 10), undefined);
});
