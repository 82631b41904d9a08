import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ServerProcess, startHttpServer } from './harness.ts';
import { bigPost, connect, flood, health, MiB, rssMiB } from './http-abuse.ts';
import { ok } from './mcp-client.ts';

/**
 * The HTTP surface under abuse, against a real reach-server process: an `initialize` flood,
 * 50 MiB bodies, and the per-key session cap. Keys come from a --api-key-file of two keys.
 */
const KEY_A = 'limits-key-a-5e0c7d1f93';
const KEY_B = 'limits-key-b-8a24b6e07c';

describe('MCP HTTP limits: sessions and bodies', () => {
  let server: ServerProcess;
  let keyFile: string;

  before(async () => {
    keyFile = join(tmpdir(), `reach-keys-${process.pid}-${Date.now()}`);
    writeFileSync(keyFile, `# two assistants\n${KEY_A}\n\n${KEY_B}\n`, { mode: 0o600 });
    server = await startHttpServer({ args: ['--api-key-file', keyFile] });
  });

  after(async () => {
    await server?.stop();
    rmSync(keyFile, { force: true });
  });

  test('2,000 abandoned initialize calls: a new session still works, and another key’s is untouched', async () => {
    const port = server.httpPort;
    const b = await connect(port, KEY_B);
    const rssBefore = rssMiB(server.proc.pid!);
    await flood(port, KEY_A, 2000);
    const h = await health(port);
    process.stderr.write(
      `# server RSS MiB: before ${rssBefore.toFixed(0)}, after 2,000 initialize ${rssMiB(server.proc.pid!).toFixed(0)}; sessions held ${h.mcp.sessions}, evicted ${h.mcp.evicted}\n`,
    );
    // Default cap per key: 200. Key A only ever displaced its own sessions.
    assert.ok(h.mcp.sessions <= 201, `sessions held: ${h.mcp.sessions}`);
    assert.ok(h.mcp.evicted >= 1800, `evicted: ${h.mcp.evicted}`);
    const fresh = await connect(port, KEY_A);
    const listed = await ok(fresh.client, 'list_clients');
    assert.equal(listed.total_count, 0);
    const fromB = await ok(b.client, 'list_clients');
    assert.equal(fromB.total_count, 0);
    // A session answers only the key that opened it.
    const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEY_A}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': b.sessionId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    assert.equal(res.status, 404);
    await res.arrayBuffer();
    await Promise.all([fresh.client.close(), b.client.close()]);
  });

  test('a 50 MiB initialize, declared or chunked, is refused with 413 PAYLOAD_TOO_LARGE', async () => {
    for (const chunked of [false, true]) {
      const r = await bigPost(server.httpPort, '/mcp', 50 * MiB, { chunked, key: KEY_A });
      assert.equal(r.status, 413, `chunked=${chunked}`);
      const body = JSON.parse(r.body) as { error: string; message: string; details: Record<string, number> };
      assert.equal(body.error, 'PAYLOAD_TOO_LARGE');
      assert.match(body.message, /exceeds 16777216 bytes/);
      assert.equal(body.details.max_bytes, 16 * MiB);
      if (!chunked) assert.equal(body.details.content_length, 50 * MiB);
    }
  });

  test('8 × 50 MiB at once, declared or chunked: all refused, RSS bounded', async () => {
    const port = server.httpPort;
    const pid = server.proc.pid!;
    const before = rssMiB(pid);
    const declared = await Promise.all(
      Array.from({ length: 8 }, () => bigPost(port, '/mcp', 50 * MiB, { chunked: false, key: KEY_A })),
    );
    const afterDeclared = rssMiB(pid);
    const chunked = await Promise.all(
      Array.from({ length: 8 }, () => bigPost(port, '/mcp', 50 * MiB, { chunked: true, key: KEY_A })),
    );
    const afterChunked = rssMiB(pid);
    const tally = (rs: { status: number }[]): string =>
      [413, 429, 0].map((st) => `${rs.filter((r) => r.status === st).length}×${st || 'reset'}`).join(' ');
    process.stderr.write(
      `# answers: declared ${tally(declared)}; chunked ${tally(chunked)}\n# server RSS MiB: before ${before.toFixed(0)}, after 8 × 50 MiB declared ${afterDeclared.toFixed(0)}, after 8 × 50 MiB chunked ${afterChunked.toFixed(0)}\n`,
    );
    // Each is refused: 413 at the 16 MiB limit, 429 once the bodies in progress together hold
    // the 64 MiB budget, or a reset while the client was still writing (status 0). Never served.
    for (const r of [...declared, ...chunked]) {
      if (r.status === 0) continue;
      const { error } = JSON.parse(r.body) as { error: string };
      assert.ok(
        (r.status === 413 && error === 'PAYLOAD_TOO_LARGE') ||
          (r.status === 429 && error === 'RATE_LIMIT_EXCEEDED'),
        `${r.status} ${r.body}`,
      );
    }
    // Declared: not a byte read. Chunked: at most the 64 MiB budget held at once, plus garbage
    // not yet collected (the old server parsed all 8 × 50 MiB: +625 MiB).
    assert.ok(afterDeclared - before < 32, `declared bodies grew RSS by ${afterDeclared - before} MiB`);
    assert.ok(afterChunked - before < 8 * 16 + 64, `chunked bodies grew RSS by ${afterChunked - before} MiB`);
    // Still serving.
    const { client } = await connect(port, KEY_A);
    await ok(client, 'list_clients');
    await client.close();
  });

  test('the same limit holds on every route, and only after authentication', async () => {
    const port = server.httpPort;
    for (const path of ['/messages?sessionId=x', '/api/anything']) {
      for (const chunked of [false, true]) {
        const r = await bigPost(port, path, 20 * MiB, { chunked, key: KEY_B });
        assert.equal(r.status, 413, `${path} chunked=${chunked}`);
        assert.equal((JSON.parse(r.body) as { error: string }).error, 'PAYLOAD_TOO_LARGE');
      }
    }
    // Without the key the body is never read: 401 first.
    const anon = await bigPost(port, '/mcp', 20 * MiB, { chunked: false });
    assert.equal(anon.status, 401);
    // A body under the limit still works on the same server.
    const { client } = await connect(port, KEY_B);
    await ok(client, 'list_clients');
    await client.close();
  });

  test('a query parameter whose value (or name) is a configured key is refused, whatever it is called', async () => {
    const port = server.httpPort;
    for (const query of [`?q=${KEY_A}`, `?session=${encodeURIComponent(KEY_B)}`, `?${KEY_A}`, '?TOKEN=x']) {
      const res = await fetch(`http://127.0.0.1:${port}/mcp${query}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(res.status, 401, query);
      assert.match(((await res.json()) as { message: string }).message, /not accepted in the query string/);
    }
    const res = await fetch(`http://127.0.0.1:${port}/mcp?sessionId=harmless`, {
      method: 'GET',
      headers: { authorization: `Bearer ${KEY_A}` },
    });
    assert.equal(res.status, 400, 'an ordinary query parameter passes auth');
    await res.arrayBuffer();
  });
});

describe('MCP HTTP limits: a full table evicts the least recently used idle session', () => {
  let server: ServerProcess;

  before(async () => {
    server = await startHttpServer({
      apiKey: KEY_A,
      args: ['--mcp-max-sessions', '20', '--mcp-max-sessions-per-key', '20'],
    });
  });

  after(async () => {
    await server?.stop();
  });

  test('a live client holding its event stream outlasts a flood of 200 from the same key', async () => {
    const port = server.httpPort;
    const live = await connect(port, KEY_A);
    await flood(port, KEY_A, 200, 8);
    const h = await health(port);
    assert.ok(h.mcp.sessions <= 20, `sessions held: ${h.mcp.sessions}`);
    assert.ok(h.mcp.evicted >= 180, `evicted: ${h.mcp.evicted}`);
    await ok(live.client, 'list_clients');
    const fresh = await connect(port, KEY_A);
    await ok(fresh.client, 'list_clients');
    await Promise.all([live.client.close(), fresh.client.close()]);
  });
});
