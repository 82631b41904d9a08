// The UI's API client against a real HTTP server on loopback (node's fetch is the browser's API).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { api, apiText, setUnauthorizedHandler } from '../src/lib/api/api-client.ts';
import { ApiError } from '../src/lib/api/api-error.ts';

test('apiText and api: a 401 goes to the unauthorized handler (sign-in), other errors keep their code', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/cast') return res.end('{"version": 2}\n[0.1, "o", "hi"]\n');
    if (req.url === '/gone') {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end('{"error":"UNAUTHORIZED","message":"no session"}');
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"NOT_FOUND","message":"no such recording"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let unauthorized = 0;
  setUnauthorizedHandler(() => unauthorized++);
  try {
    assert.equal(await apiText(`${base}/cast`), '{"version": 2}\n[0.1, "o", "hi"]\n');
    await assert.rejects(apiText(`${base}/gone`), (e: unknown) => e instanceof ApiError && e.status === 401);
    assert.equal(unauthorized, 1);
    await assert.rejects(
      apiText(`${base}/missing`),
      (e: unknown) => e instanceof ApiError && e.status === 404,
    );
    assert.equal(unauthorized, 1);
    await assert.rejects(api('GET', `${base}/gone`, { quiet401: true }), ApiError);
    assert.equal(unauthorized, 1, 'quiet401 (the session probe) does not redirect');
    await assert.rejects(api('GET', `${base}/gone`), ApiError);
    assert.equal(unauthorized, 2);
  } finally {
    setUnauthorizedHandler(() => {});
    server.close();
  }
});
