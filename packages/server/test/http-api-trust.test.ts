import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, type ServerProcess, startClient, startHttpServer } from './mcp/harness.ts';

const API_KEY = 'api-key-8d2e4f6a1b3c';

describe('HTTP API with no key configured (loopback only)', () => {
  let server: ServerProcess;
  let base: string;

  before(async () => {
    server = await startHttpServer({ args: ['--metrics-interval-s', '0'] });
    base = `http://127.0.0.1:${server.httpPort}`;
  });
  after(() => server?.stop());

  test('open to local scripts, and says so; cross-site and DNS-rebound requests are still refused', async () => {
    const session = await fetch(`${base}/api/session`);
    assert.equal(session.status, 200);
    assert.deepEqual(await session.json(), { authenticated: true, auth_required: false, expires_at: null });
    assert.equal((await fetch(`${base}/api/clients`)).status, 200);
    // A script (no Origin) reaches the route: the unknown client is the answer.
    const cmd = `${base}/api/clients/nobody/commands`;
    const script = await fetch(cmd, { method: 'POST', body: '{"cmd":"id"}' });
    assert.equal(script.status, 404);
    assert.equal(((await script.json()) as { error: string }).error, 'CLIENT_NOT_FOUND');
    // A page elsewhere may send a simple text/plain POST to loopback: its Origin gives it away.
    const crossSite = await fetch(cmd, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://evil.example' },
      body: '{"cmd":"id"}',
    });
    assert.equal(crossSite.status, 403);
    assert.equal(((await crossSite.json()) as { error: string }).error, 'PERMISSION_DENIED');
    // A rebound name: same origin to the browser, but not a name of this server.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${base}/api/clients`,
        { headers: { host: `evil.example:${server.httpPort}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(rebound, 403);
  });
});

describe('HTTP API: a re-keyed client is quarantined until POST accept-key', () => {
  let server: ServerProcess;
  let base: string;
  const auth = { authorization: `Bearer ${API_KEY}` };
  const stops: Array<() => Promise<void>> = [];

  before(async () => {
    server = await startHttpServer({ apiKey: API_KEY, args: ['--metrics-interval-s', '0'] });
    base = `http://127.0.0.1:${server.httpPort}`;
  });
  after(async () => {
    for (const stop of stops) await stop();
    await server?.stop();
  });

  const get = async (path: string) =>
    (await (await fetch(`${base}${path}`, { headers: auth })).json()) as Record<string, any>;

  test('quarantined status, then accept-key answers the client online again', async () => {
    const first = await startClient(server, { displayName: 'rekeyed' });
    await eventually(async () => ((await get(`/api/clients/${first.uuid}`)).online ? true : undefined));
    // Same identity (config.yaml: the UUID) under a new key: what a reinstalled host looks like.
    const saved = mkdtempSync(join(tmpdir(), 'reach-rekey-'));
    copyFileSync(join(first.home, 'config.yaml'), join(saved, 'config.yaml'));
    await first.stop();
    const second = await startClient(server, { displayName: 'rekeyed', copyConfigFrom: saved });
    stops.push(
      () => second.stop(),
      async () => rmSync(saved, { recursive: true, force: true }),
    );
    assert.equal(second.uuid, first.uuid);
    const q = await eventually(async () => {
      const c = await get(`/api/clients/${first.uuid}`);
      return c.status === 'quarantined' ? c : undefined;
    });
    assert.equal(q.key_mismatch, true);
    const listed = await get('/api/clients?status=quarantined');
    assert.deepEqual(
      listed.clients.map((c: { uuid: string }) => c.uuid),
      [first.uuid],
    );
    const r = await fetch(`${base}/api/clients/${first.uuid}/accept-key`, { method: 'POST', headers: auth });
    const accepted = (await r.json()) as Record<string, any>;
    assert.equal(r.status, 200, JSON.stringify(accepted));
    assert.equal(accepted.key_mismatch, false);
    assert.equal(accepted.quarantined, false);
    assert.equal(accepted.status, 'online');
  });
});
