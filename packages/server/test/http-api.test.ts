import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type ClientProcess,
  eventually,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './mcp/harness.ts';
import { ok } from './mcp/mcp-client.ts';

const API_KEY = 'api-key-3f9a1c7e5b2d';
/** Small enough that an oversized JSON body is cheap to send; uploads are not held to it. */
const MAX_BODY = 65_536;
const MIB = 1024 * 1024;

interface Doc {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

describe('HTTP API, real server and client over loopback', () => {
  let server: ServerProcess;
  let lab: ClientProcess;
  let base: string;
  let origin: string;
  let work: string;
  const auth = { authorization: `Bearer ${API_KEY}` };

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
  const json = async (path: string, init: RequestInit = {}) => {
    const r = await api(path, init);
    const body = (await r.json()) as Record<string, any>;
    assert.equal(r.status, 200, `${path}: ${JSON.stringify(body)}`);
    return body;
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'reach-http-api-'));
    server = await startHttpServer({
      apiKey: API_KEY,
      args: ['--metrics-interval-s', '1', '--max-body-bytes', String(MAX_BODY)],
    });
    base = `http://127.0.0.1:${server.httpPort}`;
    origin = base;
    lab = await startClient(server, { displayName: 'api-lab' });
    await eventually(async () => {
      const r = await json('/api/clients?status=online');
      return r.clients.some((c: { uuid: string }) => c.uuid === lab.uuid) ? true : undefined;
    });
  });

  after(async () => {
    await lab?.stop();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('every /api route refuses a missing, a wrong and a query-string key with the shared error JSON', async () => {
    const doc = (await json('/api/openapi.json')) as Doc;
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        path,
        method: method.toUpperCase(),
        open: op.security?.length === 0,
      })),
    );
    assert.ok(routes.length >= 15, `${routes.length} routes`);
    for (const { path, method, open } of routes) {
      const url = `${base}${path.replace('{uuid}', lab.uuid)}?path=/tmp`;
      const tries: Array<[string, Record<string, string>, string]> = [
        ['missing', {}, url],
        ['wrong', { authorization: 'Bearer not-the-key' }, url],
        ['query', auth, `${url}&api_key=${API_KEY}`],
        ['query value', auth, `${url}&x=${API_KEY}`],
      ];
      for (const [what, headers, u] of tries) {
        if (open && what !== 'query' && what !== 'query value') continue;
        const r = await fetch(u, { method, headers });
        const body = (await r.json()) as { error: string; message: string };
        assert.equal(r.status, 401, `${method} ${path} (${what} key): ${r.status}`);
        assert.equal(body.error, 'UNAUTHORIZED');
        assert.equal(typeof body.message, 'string');
      }
    }
  });

  test('sign in: cookie attributes, cookie routes, Origin on mutations, logout ends the session', async () => {
    const wrong = await post('/api/session', { api_key: 'nope' });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'UNAUTHORIZED');

    const forged = await fetch(`${base}/api/clients`, { headers: { cookie: 'reach_session=forged-value' } });
    assert.equal(forged.status, 401);

    const login = await post('/api/session', { api_key: API_KEY });
    assert.equal(login.status, 204);
    const setCookie = login.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^reach_session=[A-Za-z0-9_-]{43};/);
    for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']) {
      assert.ok(setCookie.split('; ').includes(attr), `${attr} in ${setCookie}`);
    }
    assert.ok(!setCookie.includes('Secure'), 'plain HTTP: no Secure');
    const cookie = setCookie.split(';')[0]!;

    const session = await fetch(`${base}/api/session`, { headers: { cookie } });
    const info = (await session.json()) as {
      authenticated: boolean;
      auth_required: boolean;
      expires_at: string;
    };
    assert.equal(info.authenticated, true);
    assert.equal(info.auth_required, true);
    const ttl = Date.parse(info.expires_at) - Date.now();
    assert.ok(ttl > 11.9 * 3_600_000 && ttl <= 12 * 3_600_000, `expires in ${ttl} ms`);

    const list = await fetch(`${base}/api/clients`, { headers: { cookie } });
    assert.equal(list.status, 200);

    const cmd = `/api/clients/${lab.uuid}/commands`;
    const same = await post(cmd, { cmd: 'echo from-cookie' }, { cookie, origin });
    assert.equal(same.status, 200);
    assert.equal(((await same.json()) as { stdout: string }).stdout, 'from-cookie\n');
    for (const headers of [{ cookie, origin: 'http://evil.example' }, { cookie }] as Record<
      string,
      string
    >[]) {
      const r = await post(cmd, { cmd: 'echo csrf' }, headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(((await r.json()) as { error: string }).error, 'PERMISSION_DENIED');
    }

    const logout = await fetch(`${base}/api/session`, { method: 'DELETE', headers: { cookie, origin } });
    assert.equal(logout.status, 204);
    assert.match(logout.headers.get('set-cookie') ?? '', /^reach_session=; Max-Age=0/);
    const afterLogout = await fetch(`${base}/api/clients`, { headers: { cookie } });
    assert.equal(afterLogout.status, 401);
  });

  test('oversized, malformed and invalid bodies get the shared error JSON', async () => {
    const cmd = `/api/clients/${lab.uuid}/commands`;
    const big = await post(cmd, { cmd: 'x'.repeat(MAX_BODY) }, auth);
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: string }).error, 'PAYLOAD_TOO_LARGE');
    const bad = await api(cmd, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"cmd":',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: string }).error, 'PARSE_ERROR');
    const invalid = await post(cmd, { cmd: 42 }, auth);
    assert.equal(invalid.status, 400);
    const body = (await invalid.json()) as { error: string; details: { issues: unknown[] } };
    assert.equal(body.error, 'INVALID_ARGUMENT');
    assert.ok(body.details.issues.length > 0);
    const unknown = await api(`/api/clients/${lab.uuid}/nothing`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: string }).error, 'INVALID_ARGUMENT');
    const noClient = await api('/api/clients/no-such-client');
    assert.equal(noClient.status, 404);
    assert.equal(((await noClient.json()) as { error: string }).error, 'CLIENT_NOT_FOUND');
  });

  test('commands, files, metrics, history and audit through the API against the real client', async () => {
    writeFileSync(join(work, 'listed.txt'), 'hello');
    const nonce = randomBytes(4).toString('hex');
    const run = await json(`/api/clients/${lab.uuid}/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: `echo api-${nonce}; exit 3`, cwd: work }),
    });
    assert.equal(run.stdout, `api-${nonce}\n`);
    assert.equal(run.returncode, 3);

    const files = await json(`/api/clients/${lab.uuid}/files?path=${encodeURIComponent(work)}`);
    assert.ok(
      files.entries.some((e: { name: string; size: number }) => e.name === 'listed.txt' && e.size === 5),
    );

    const metrics = await json(`/api/clients/${lab.uuid}/metrics`);
    assert.equal(typeof metrics.cpu.usage_percent, 'number');

    const history = await json(`/api/history?q=${encodeURIComponent(`api-${nonce}`)}`);
    assert.equal(history.commands.length, 1);
    const row = history.commands[0];
    assert.equal(row.client_uuid, lab.uuid);
    assert.equal(row.client_name, 'api-lab');
    assert.equal(row.exit_code, 3);
    assert.equal(row.source, 'http');
    assert.match(row.caller, /^http:key:[0-9a-f]{12}$/);
    assert.equal(row.cwd, work);
    const byExit = await json(
      `/api/history?exit_code=3&client=api-lab&caller=${encodeURIComponent(row.caller)}`,
    );
    assert.ok(byExit.commands.some((c: { id: number }) => c.id === row.id));
    // FTS5 syntax in q is the user's text, not operators: no error, no match.
    const hostile = await json(`/api/history?q=${encodeURIComponent('" OR NEAR( * api')}`);
    assert.deepEqual(hostile.commands, []);

    const audit = await json(`/api/audit?client=${lab.uuid}&tool=run_command&limit=100`);
    assert.ok(audit.rows.some((r: { caller: string }) => r.caller === row.caller));
    assert.equal(audit.next_cursor, null);
    // Paged one row at a time, the cursor walks the same rows in the same order, then ends.
    const walked: number[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await json(
        `/api/audit?client=${lab.uuid}&tool=run_command&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      walked.push(...page.rows.map((r: { id: number }) => r.id));
      cursor = page.next_cursor;
      assert.ok(walked.length <= audit.rows.length, 'paging ends');
    }
    assert.deepEqual(
      walked,
      audit.rows.map((r: { id: number }) => r.id),
    );
    const badCursor = await fetch(`${base}/api/audit?cursor=bm90LWEtY3Vyc29y`, { headers: auth });
    assert.equal(badCursor.status, 400);
    assert.equal(((await badCursor.json()) as { error: string }).error, 'INVALID_ARGUMENT');
    const hooks = await json('/api/webhooks');
    assert.equal(typeof hooks.pending, 'number');
  });

  test('a command run through MCP (the official SDK client) is found by /api/history?q=', async () => {
    const mcp = new Client({ name: 'reach-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: auth } }),
    );
    try {
      const nonce = randomBytes(4).toString('hex');
      await ok(mcp, 'run_command', { cmd: `echo mcp-${nonce}`, client_id: lab.uuid });
      const h = await json(`/api/history?q=${encodeURIComponent(`mcp-${nonce}`)}`);
      assert.equal(h.commands.length, 1);
      assert.equal(h.commands[0].source, 'mcp');
      assert.match(h.commands[0].caller, /^mcp:/);
    } finally {
      await mcp.close();
    }
  });

  test('a 64 MiB upload and its download through the API have the same sha256; a dropped upload leaves nothing', async () => {
    const src = join(work, 'big.bin');
    writeFileSync(src, randomBytes(64 * MIB));
    const want = createHash('sha256');
    for await (const chunk of createReadStream(src)) want.update(chunk as Buffer);
    const sha = want.digest('hex');

    const dest = join(work, 'uploaded.bin');
    const put = await api(`/api/clients/${lab.uuid}/files/content?path=${encodeURIComponent(dest)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(createReadStream(src)) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
    const up = (await put.json()) as { path: string; size: number; sha256: string };
    assert.equal(put.status, 200, JSON.stringify(up));
    assert.deepEqual(up, { path: dest, size: 64 * MIB, sha256: sha });

    const get = await api(`/api/clients/${lab.uuid}/files/content?path=${encodeURIComponent(dest)}`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-length'), String(64 * MIB));
    assert.equal(get.headers.get('content-type'), 'application/octet-stream');
    assert.match(get.headers.get('content-disposition') ?? '', /^attachment; filename="uploaded.bin"/);
    const got = createHash('sha256');
    let size = 0;
    for await (const chunk of get.body!) {
      got.update(chunk);
      size += chunk.byteLength;
    }
    assert.equal(size, 64 * MIB);
    assert.equal(got.digest('hex'), sha);

    const missing = await api(
      `/api/clients/${lab.uuid}/files/content?path=${encodeURIComponent(join(work, 'absent.bin'))}`,
    );
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: string }).error, 'FILE_NOT_FOUND');
    const relative = await api(`/api/clients/${lab.uuid}/files/content?path=relative.bin`, {
      method: 'PUT',
      body: 'x',
    });
    assert.equal(relative.status, 400);
    assert.equal(((await relative.json()) as { error: string }).error, 'INVALID_ARGUMENT');

    // 1 MiB of a declared 8 MiB, then the connection drops.
    const dropped = join(work, 'dropped.bin');
    await new Promise<void>((resolve) => {
      const req = request(
        `${base}/api/clients/${lab.uuid}/files/content?path=${encodeURIComponent(dropped)}`,
        { method: 'PUT', headers: { ...auth, 'content-length': String(8 * MIB) } },
      );
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(randomBytes(MIB), () => req.destroy());
    });
    const spool = join(server.dataDir, 'transfers', '.http-spool');
    await eventually(async () => {
      const audit = await json('/api/audit?tool=http_upload&limit=5');
      return audit.rows.some((r: { outcome: string }) => r.outcome !== 'OK') ? true : undefined;
    });
    assert.equal(existsSync(dropped), false);
    assert.deepEqual(
      readdirSync(work).filter((f) => f.includes('dropped')),
      [],
    );
    await eventually(async () => (readdirSync(spool).length === 0 ? true : undefined));
  });

  test('the sampler writes metrics history (1 s interval)', async () => {
    const h = await eventually(async () => {
      const r = await json(`/api/clients/${lab.uuid}/metrics/history`);
      return r.samples.length >= 2 ? r : undefined;
    });
    const s = h.samples.at(-1);
    assert.equal(typeof s.cpu_percent, 'number');
    assert.equal(typeof s.memory_percent, 'number');
    assert.equal(typeof s.net_rx_bps, 'number', 'a second sample has network rates');
    assert.ok(Date.parse(s.at) <= Date.now());
  });

  test('WS /ws: delivers client.connected; a foreign Origin and a missing key are refused before the handshake', async () => {
    const refused = (headers: Record<string, string>, path = '/ws') =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${base}${path}`, {
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': randomBytes(16).toString('base64'),
            ...headers,
          },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('upgrade', () => reject(new Error('upgrade accepted')));
        req.on('error', reject);
        req.end();
      });
    assert.equal(await refused({ ...auth, origin: 'http://evil.example' }), 403);
    assert.equal(await refused({}), 401);
    assert.equal(await refused({ authorization: 'Bearer wrong' }), 401);
    assert.equal(
      await refused({ ...auth, origin }, `/ws?api_key=${API_KEY}`),
      401,
      'no key in a query string',
    );
    assert.equal(await refused({ cookie: 'reach_session=forged', origin }), 401);

    const login = await post('/api/session', { api_key: API_KEY });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    assert.equal(await refused({ cookie }), 403, 'a cookie upgrade needs an Origin');
    const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/ws`, {
      headers: { cookie, origin },
    } as never);
    const events: Array<{ type: string; client?: { uuid: string } }> = [];
    let onEvent = () => {};
    ws.onmessage = (m) => {
      events.push(JSON.parse(String(m.data)));
      onEvent();
    };
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error('ws refused'));
    });
    const second = await startClient(server, { displayName: 'api-second' });
    try {
      await new Promise<void>((resolve) => {
        onEvent = () => {
          if (events.some((e) => e.type === 'client.connected' && e.client?.uuid === second.uuid)) resolve();
        };
        onEvent();
      });
    } finally {
      ws.close();
      await second.stop();
    }
    // The killed client is listed offline; with limit 1 the online one (listed first) is read
    // past, not answered as an empty page.
    const offline = await eventually(async () => {
      const r = await json('/api/clients?status=offline&limit=1');
      return r.clients.length === 1 ? r : undefined;
    });
    assert.equal(offline.clients[0].uuid, second.uuid);
    assert.equal(offline.clients[0].status, 'offline');
    assert.equal(offline.total, 1);
    const online = await json('/api/clients?status=online');
    assert.deepEqual(
      online.clients.map((c: { uuid: string }) => c.uuid),
      [lab.uuid],
    );
  });

  test('PATCH edits metadata and settings through update_client and configure_client', async () => {
    const patch = (body: unknown) =>
      json(`/api/clients/${lab.uuid}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const c = await patch({ purpose: 'api tests', tags: ['lab', 'http'], rate_limit_rpm: 500 });
    assert.equal(c.purpose, 'api tests');
    assert.deepEqual(c.tags, ['lab', 'http']);
    assert.equal(c.rate_limit_rpm, 500);
    assert.equal(c.status, 'online');
    const tagged = await json('/api/clients?tag=http');
    assert.deepEqual(
      tagged.clients.map((x: { uuid: string }) => x.uuid),
      [lab.uuid],
    );
    const bad = await api(`/api/clients/${lab.uuid}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rate_limit_rpm: 0 }),
    });
    assert.equal(bad.status, 400, 'the tool schema still decides');
    await patch({ purpose: null, tags: null });
  });

  // Last: it spends this source's sign-in attempts for the minute.
  test('sign-in attempts are limited per source address: past 10 a minute, 429 even with the right key', async () => {
    let status = 0;
    for (let i = 0; i < 11 && status !== 429; i++)
      status = (await post('/api/session', { api_key: 'wrong' })).status;
    assert.equal(status, 429);
    const right = await post('/api/session', { api_key: API_KEY });
    assert.equal(right.status, 429);
    const body = (await right.json()) as { error: string; recovery_hint: string };
    assert.equal(body.error, 'RATE_LIMIT_EXCEEDED');
    assert.equal(right.headers.get('set-cookie'), null);
    // Bearer access is not sign-in: scripts keep working.
    assert.equal((await api('/api/clients')).status, 200);
  });
});
