import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { eventually, startClient } from '../mcp/harness.ts';
import { type Control, startTerminalRig, type TerminalRig } from './terminal-harness.ts';

const KEY = 'terminal-test-key-0123456789abcdef';

describe('browser terminal (WebSocket → server → SSH → client PTY)', () => {
  let rig: TerminalRig;
  before(async () => {
    rig = await startTerminalRig({ apiKey: KEY });
  });
  after(async () => {
    await rig.stop();
  });

  test('echo comes back, resize shows in stty size, exit 3 is reported, the recording has it', async () => {
    const t = rig.open({ cols: 80, rows: 24 });
    const ready = await t.control('ready');
    assert.match(ready.id, /^\d{13}-[0-9a-f]{8}$/);
    t.type('echo hel""lo\r');
    await t.outputMatching(/hello\r?\n/);
    t.resize(132, 43);
    t.type('stty size\r');
    await t.outputMatching(/43 132\r?\n/);
    t.type('exit 3\r');
    const exit = await t.control('exit');
    assert.deepEqual(exit, { type: 'exit', code: 3, signal: null });
    assert.equal((await t.closed).code, 1000);

    const base = `http://127.0.0.1:${rig.server.httpPort}/api/clients/${rig.client.uuid}/recordings`;
    const auth = { authorization: `Bearer ${KEY}` };
    const list = (await (await fetch(base, { headers: auth })).json()) as {
      recordings: Array<{ id: string; ended_at: string | null; bytes: number; caller: string | null }>;
    };
    const entry = list.recordings.find((r) => r.id === ready.id);
    assert.ok(entry, 'the session is listed');
    assert.match(entry.caller ?? '', /^http:key:[0-9a-f]{12}$/);
    const res = await fetch(`${base}/${ready.id}`, { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-asciicast');
    const lines = (await res.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    const header = lines[0] as {
      version: number;
      width: number;
      height: number;
      timestamp: number;
      env: { TERM: string };
    };
    assert.equal(header.version, 2);
    assert.equal(header.width, 80);
    assert.equal(header.height, 24);
    assert.equal(header.env.TERM, 'xterm-256color');
    assert.ok(Number.isInteger(header.timestamp));
    const events = lines.slice(1) as Array<[number, string, string]>;
    for (const [t0, kind, data] of events) {
      assert.equal(typeof t0, 'number');
      assert.ok(kind === 'o' || kind === 'r');
      assert.equal(typeof data, 'string');
    }
    assert.match(
      events
        .filter((e) => e[1] === 'o')
        .map((e) => e[2])
        .join(''),
      /\nhello\r?\n/,
    );
    assert.ok(events.some((e) => e[1] === 'r' && e[2] === '132x43'));
    // Input is not recorded: the typed command line appears only as the shell's echo of it.
    assert.ok(!events.some((e) => e[1] === 'i'));
    // The open went through the operations layer into the audit log (and command history).
    const db = new DatabaseSync(join(rig.server.dataDir, 'reach.db'), { readOnly: true });
    try {
      const row = db
        .prepare(
          "SELECT outcome, client_uuid, arguments FROM audit_log WHERE tool = 'terminal_open' ORDER BY id DESC LIMIT 1",
        )
        .get() as { outcome: string; client_uuid: string; arguments: string } | undefined;
      assert.equal(row?.outcome, 'OK');
      assert.equal(row?.client_uuid, rig.client.uuid);
      assert.deepEqual(JSON.parse(row?.arguments ?? '{}'), { shell: '/bin/sh', cols: 80, rows: 24 });
    } finally {
      db.close();
    }
  });

  test('closing the socket kills the shell', async () => {
    const t = rig.open();
    await t.control('ready');
    t.type('echo pid=$$\r');
    const [, pid] = await t.outputMatching(/pid=(\d+)\r?\n/);
    assert.ok(existsSync(`/proc/${pid}`));
    t.ws.close();
    await t.closed;
    await eventually(async () => (existsSync(`/proc/${pid}`) ? undefined : true));
  });

  test('a bad recording id is refused before any file is touched', async () => {
    const base = `http://127.0.0.1:${rig.server.httpPort}/api/clients/${rig.client.uuid}/recordings`;
    const res = await fetch(`${base}/..%2F..%2Freach.db`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'INVALID_ARGUMENT');
  });

  test('the fifth terminal on one client is refused with a typed error', async () => {
    const four = [rig.open(), rig.open(), rig.open(), rig.open()];
    await Promise.all(four.map((t) => t.control('ready')));
    const fifth = rig.open();
    const err = await fifth.control('error');
    assert.equal(err.error, 'RATE_LIMIT_EXCEEDED');
    await fifth.closed;
    for (const t of four) t.ws.close();
    await Promise.all(four.map((t) => t.closed));
  });

  test('a missing or wrong bearer key and a foreign Origin are refused before the handshake', async () => {
    const none = rig.open({ headers: { authorization: '' } });
    assert.equal(await none.refused, 401);
    const wrong = rig.open({ headers: { authorization: 'Bearer nope' } });
    assert.equal(await wrong.refused, 401);
    const foreign = rig.open({ headers: { origin: 'http://evil.example' } });
    assert.equal(await foreign.refused, 403);
    // Same host name, other port: another origin all the same.
    const otherPort = rig.open({ headers: { origin: 'http://127.0.0.1:1' } });
    assert.equal(await otherPort.refused, 403);
    for (const t of [none, wrong, foreign, otherPort]) assert.deepEqual(t.controls, []);
  });

  test('bad sizes get the shared error message and a close', async () => {
    const t = rig.open({ cols: 0 });
    const err: Control = await t.control('error');
    assert.equal(err.type === 'error' && err.error, 'INVALID_ARGUMENT');
    await t.closed;
  });

  test('a client with terminal: false does not offer it, and the server refuses before opening a channel', async () => {
    const c = await startClient(rig.server, {
      displayName: 'no-terminal',
      env: { REACH_TERMINAL: 'false', SHELL: '/bin/sh' },
    });
    try {
      const url = `http://127.0.0.1:${rig.server.httpPort}/api/clients/${c.uuid}`;
      const caps = await eventually(async () => {
        const res = await fetch(url, { headers: { authorization: `Bearer ${KEY}` } });
        const d = (await res.json()) as { online?: boolean; capabilities?: string[] };
        return d.online ? d.capabilities : undefined;
      });
      assert.ok(caps.includes('shell') || caps.length > 0, `capabilities: ${caps}`);
      assert.ok(!caps.includes('terminal'), `no terminal advertised: ${caps}`);
      const t = rig.open({ uuid: c.uuid });
      const err = await t.control('error');
      assert.equal(err.error, 'METHOD_NOT_FOUND');
      // The server's words, not the client's: refused before a stream channel was opened.
      assert.match(err.message, /does not offer terminals/);
      await t.closed;
    } finally {
      await c.stop();
    }
  });

  // Last: it kills this rig's client.
  test('a client SIGKILLed mid-terminal: the browser gets CONNECTION_ERROR then a close frame', async () => {
    const t = rig.open();
    await t.control('ready');
    t.type('echo al""ive\r');
    await t.outputMatching(/alive\r?\n/);
    rig.client.proc.kill('SIGKILL');
    const err = await t.control('error');
    assert.equal(err.error, 'CONNECTION_ERROR');
    assert.equal((await t.closed).code, 1011);
  });
});

describe('browser terminal: idle timeout', () => {
  let rig: TerminalRig;
  before(async () => {
    rig = await startTerminalRig({ args: ['--terminal-idle-timeout-s', '1'] });
  });
  after(async () => {
    await rig.stop();
  });

  test('a terminal with no traffic is closed with TIMEOUT', async () => {
    const t = rig.open();
    await t.control('ready');
    const err = await t.control('error');
    assert.equal(err.error, 'TIMEOUT');
    assert.equal((await t.closed).code, 1011);
  });
});
