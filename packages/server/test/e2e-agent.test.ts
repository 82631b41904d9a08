/**
 * End to end: an in-process server and a real `reach` client process (own REACH_HOME) over
 * loopback SSH. Every agent method through ClientService.call, and every error code on purpose.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ReachError } from '@reach/protocol';
import { parseAuthorizedKeyLine } from '../src/ssh/authorized-keys.ts';
import { type ClientHome, type Proc, prepareClientHome, startClient } from './e2e-harness.ts';
import { startTestServer, type TestServer, tempDir, waitFor } from './link-harness.ts';

function code(expected: string, check?: (err: ReachError) => void): (err: ReachError) => boolean {
  return (err) => {
    assert.equal(err.code, expected, `${err.code}: ${err.message}`);
    check?.(err);
    return true;
  };
}

describe('e2e: every agent method and error code through the server', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let ts: TestServer;
  let client: ClientHome;
  let proc: Proc;
  let allowed: string;
  let outside: string;

  before(async () => {
    dir = await tempDir('reach-e2e-agent-');
    allowed = join(await realpath(dir.path), 'allowed');
    outside = join(await realpath(dir.path), 'outside');
    await mkdir(join(allowed, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'top secret');
    await symlink(outside, join(allowed, 'escape'));
    await symlink(join(allowed, 'sub'), join(allowed, 'inside-link'));
    ts = await startTestServer(join(dir.path, 'server'));
    client = await prepareClientHome(join(dir.path, 'client'), {
      serverDataDir: ts.dataDir,
      allowedPaths: [allowed],
    });
    proc = startClient(client, ts.server.sshPort);
    await waitFor(() => ts.server.services.registry.get(client.uuid), 20_000, 'client online').catch(
      (err) => {
        throw new Error(`${(err as Error).message}\n${proc.output()}`);
      },
    );
  });
  after(async () => {
    await proc?.stop();
    await ts?.close();
    await dir?.remove();
  });

  const call: TestServer['server']['services']['clients']['call'] = (ref, method, params, opts) =>
    ts.server.services.clients.call(ref, method, params, opts);

  test('registration recorded the handshake key and what the client reported', async () => {
    const d = ts.server.services.clients.resolve(client.uuid);
    assert.equal(d.online, true);
    assert.equal(d.connection_count, 1);
    assert.ok(d.capabilities.length > 0, 'capabilities sent at registration');
    // Derived from the SSH handshake: the fingerprint of the key the client authenticated with.
    assert.equal(d.public_key_fingerprint, parseAuthorizedKeyLine(client.publicKey)?.fingerprint);
    assert.match(d.current_connection?.platform ?? '', /linux/i);
  });

  test('heartbeat and capabilities', async () => {
    const hb = await call(client.uuid, 'heartbeat', {});
    assert.ok(hb.ts > 0);
    const caps = await call(client.uuid, 'capabilities', {});
    assert.ok(caps.capabilities.includes('node') || caps.capabilities.length > 0);
  });

  test('run_command: output, exit code, cwd and env', async () => {
    const r = await call(client.uuid, 'run_command', {
      cmd: 'echo "$GREETING"; pwd; echo err >&2; exit 7',
      cwd: allowed,
      env: { GREETING: 'hello reach' },
    });
    assert.equal(r.stdout, `hello reach\n${allowed}\n`);
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.returncode, 7);
    assert.equal(r.truncated, false);
  });

  test('write_file, read_file (text and binary) and list_files', async () => {
    const text = join(allowed, 'new', 'deep', 'hello.txt');
    const w = await call(client.uuid, 'write_file', { path: text, content: 'héllo\n' });
    assert.equal(w.size, Buffer.byteLength('héllo\n'));
    assert.equal(await readFile(text, 'utf8'), 'héllo\n');
    const r = await call(client.uuid, 'read_file', { path: text });
    assert.equal(r.content, 'héllo\n');
    assert.ok(!r.binary);

    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]);
    const bin = join(allowed, 'blob.bin');
    await call(client.uuid, 'write_file', { path: bin, content: bytes.toString('base64'), binary: true });
    assert.deepEqual(await readFile(bin), bytes);
    const rb = await call(client.uuid, 'read_file', { path: bin });
    assert.equal(rb.binary, true);
    assert.deepEqual(Buffer.from(rb.content, 'base64'), bytes);

    const list = await call(client.uuid, 'list_files', { path: allowed });
    const byName = new Map(list.entries.map((e) => [e.name, e]));
    assert.equal(byName.get('sub')?.type, 'dir');
    assert.equal(byName.get('blob.bin')?.type, 'file');
    assert.equal(byName.get('blob.bin')?.size, bytes.length);
    assert.equal(byName.get('escape')?.type, 'symlink');
    assert.match(byName.get('sub')?.mode ?? '', /^d[rwx-]{9}$/);
  });

  test('get_metrics: full and summary', async () => {
    const full = await call(client.uuid, 'get_metrics', {});
    assert.ok('cpu' in full && full.cpu.core_count > 0);
    assert.ok('memory' in full && full.memory.total_gb > 0);
    const summary = await call(client.uuid, 'get_metrics', { summary: true });
    assert.ok('memory_percent' in summary);
  });

  test('PATH_DENIED: outside, `..` and symlink escapes; a symlink inside stays allowed', async () => {
    await assert.rejects(
      call(client.uuid, 'read_file', { path: join(outside, 'secret.txt') }),
      code('PATH_DENIED'),
    );
    await assert.rejects(
      call(client.uuid, 'read_file', { path: `${allowed}/../outside/secret.txt` }),
      code('PATH_DENIED'),
    );
    await assert.rejects(
      call(client.uuid, 'read_file', { path: join(allowed, 'escape', 'secret.txt') }),
      code('PATH_DENIED'),
    );
    await assert.rejects(
      call(client.uuid, 'write_file', { path: join(allowed, 'escape', 'planted.txt'), content: 'x' }),
      code('PATH_DENIED'),
    );
    await assert.rejects(
      call(client.uuid, 'list_files', { path: join(allowed, 'escape') }),
      code('PATH_DENIED'),
    );
    await assert.rejects(
      call(client.uuid, 'run_command', { cmd: 'true', cwd: join(allowed, 'escape') }),
      code('PATH_DENIED'),
    );
    await writeFile(join(allowed, 'sub', 'ok.txt'), 'ok');
    const ok = await call(client.uuid, 'read_file', { path: join(allowed, 'inside-link', 'ok.txt') });
    assert.equal(ok.content, 'ok');
  });

  test('server-side allowed_paths only narrow the client\'s own: ["/"] opens nothing outside it', async () => {
    const secret = join(outside, 'secret.txt');
    await assert.rejects(call(client.uuid, 'read_file', { path: secret }), code('PATH_DENIED'));
    // What update_client does: store the list and push it to the online agent with set_policy.
    await ts.server.services.clients.update(client.uuid, { allowed_paths: ['/'] });
    await assert.rejects(call(client.uuid, 'read_file', { path: secret }), code('PATH_DENIED'));
    await assert.rejects(call(client.uuid, 'read_file', { path: '/etc/hostname' }), code('PATH_DENIED'));
    await assert.rejects(call(client.uuid, 'list_files', { path: '/' }), code('PATH_DENIED'));
    await ts.server.services.clients.update(client.uuid, { allowed_paths: [outside] });
    await assert.rejects(call(client.uuid, 'read_file', { path: secret }), code('PATH_DENIED'));
    await assert.rejects(call(client.uuid, 'list_files', { path: allowed }), code('PATH_DENIED'));
    // Narrowing works: only the part of the client's own list the server names is left.
    await ts.server.services.clients.update(client.uuid, { allowed_paths: [join(allowed, 'sub')] });
    await call(client.uuid, 'list_files', { path: join(allowed, 'sub') });
    await assert.rejects(call(client.uuid, 'list_files', { path: allowed }), code('PATH_DENIED'));
    await ts.server.services.clients.update(client.uuid, { allowed_paths: null });
    await call(client.uuid, 'list_files', { path: allowed });
    await assert.rejects(call(client.uuid, 'read_file', { path: secret }), code('PATH_DENIED'));
  });

  test('FILE_NOT_FOUND, INVALID_ARGUMENT; a big file pages', async () => {
    await assert.rejects(
      call(client.uuid, 'read_file', { path: join(allowed, 'missing.txt') }),
      code('FILE_NOT_FOUND'),
    );
    await assert.rejects(
      call(client.uuid, 'list_files', { path: join(allowed, 'nope') }),
      code('FILE_NOT_FOUND'),
    );
    const big = join(allowed, 'big.bin');
    await writeFile(big, Buffer.alloc(10 * 1024 * 1024 + 1));
    // Past the old 10 MiB limit a read pages instead of failing.
    const page = await call(client.uuid, 'read_file', { path: big, offset: 10 * 1024 * 1024 - 2 });
    assert.deepEqual(page, {
      content: '\0\0\0',
      length: 3,
      size: 10 * 1024 * 1024 + 1,
      offset: 10 * 1024 * 1024 - 2,
      eof: true,
      path: big,
    });
    await assert.rejects(call(client.uuid, 'read_file', { path: 'relative/path' }), code('INVALID_ARGUMENT'));
    await assert.rejects(
      call(client.uuid, 'run_command', { cmd: 'x'.repeat(10_001) }),
      code('INVALID_ARGUMENT'),
    );
    await assert.rejects(
      call(client.uuid, 'run_command', { cmd: 'true', timeout: 0 }),
      code('INVALID_ARGUMENT'),
    );
  });

  test('COMMAND_TIMEOUT returns the partial output; the process group is killed', async () => {
    const marker = join(allowed, 'survivor');
    await assert.rejects(
      call(client.uuid, 'run_command', {
        cmd: `echo started; (sleep 3; touch ${marker}) & sleep 30`,
        timeout: 1,
      }),
      code('COMMAND_TIMEOUT', (err) => {
        assert.match(String(err.details?.stdout), /started/);
      }),
    );
    // The background child was in the killed group: it never gets to touch the marker.
    await new Promise((r) => setTimeout(r, 3500));
    await assert.rejects(readFile(marker), { code: 'ENOENT' });
  });

  test('TIMEOUT and CANCELLED from the caller side reach the agent', async () => {
    await assert.rejects(
      call(client.uuid, 'run_command', { cmd: 'sleep 20' }, { timeoutMs: 200 }),
      code('TIMEOUT'),
    );
    const ac = new AbortController();
    const pending = call(client.uuid, 'run_command', { cmd: 'sleep 20' }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(pending, code('CANCELLED'));
    const again = await call(client.uuid, 'run_command', { cmd: 'echo still-fine' });
    assert.equal(again.stdout, 'still-fine\n');
  });

  test('many requests in flight on one link', async () => {
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) => call(client.uuid, 'run_command', { cmd: `echo ${i}` })),
    );
    assert.deepEqual(
      results.map((r) => r.stdout),
      Array.from({ length: 32 }, (_, i) => `${i}\n`),
    );
  });

  test('CLIENT_NOT_FOUND for an unknown client lists the online ones', async () => {
    await assert.rejects(
      call('no-such-client', 'heartbeat', {}),
      code('CLIENT_NOT_FOUND', (err) => {
        const online = err.details?.online as Array<{ uuid: string }>;
        assert.ok(online.some((c) => c.uuid === client.uuid));
        assert.ok(online.length <= 5, 'a bounded sample, not the fleet');
        assert.equal(err.details?.online_count, online.length);
        assert.ok(Array.isArray(err.details?.matches));
      }),
    );
  });

  test('a client killed with SIGKILL goes offline and its calls in flight fail with CONNECTION_ERROR', async () => {
    const inflight = Array.from({ length: 3 }, () =>
      assert.rejects(
        call(client.uuid, 'run_command', { cmd: 'sleep 60' }, { timeoutMs: 120_000 }),
        code('CONNECTION_ERROR'),
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    proc.proc.kill('SIGKILL');
    await Promise.all(inflight);
    await waitFor(() => !ts.server.services.registry.get(client.uuid), 10_000, 'offline');
    const d = ts.server.services.clients.resolve(client.uuid);
    assert.equal(d.online, false);
    assert.ok(d.last_seen);
    await assert.rejects(call(client.uuid, 'heartbeat', {}), code('CLIENT_NOT_FOUND'));
  });
});
