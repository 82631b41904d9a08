import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type ClientProcess,
  eventually,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './harness.ts';
import { callTool, fails, ok } from './mcp-client.ts';

const API_KEY = 'test-key-6f1c2a9e4b7d';

async function connect(server: ServerProcess, apiKey = API_KEY): Promise<Client> {
  const client = new Client({ name: 'reach-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
  });
  await client.connect(transport);
  return client;
}

describe('MCP over Streamable HTTP, real server and clients', () => {
  let server: ServerProcess;
  let alpha: ClientProcess;
  let beta: ClientProcess;
  let s1: Client;
  let s2: Client;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'reach-mcp-work-'));
    server = await startHttpServer({ apiKey: API_KEY });
    alpha = await startClient(server, {
      displayName: 'Alpha Lab',
      env: { REACH_PURPOSE: 'GPU training box', REACH_TAGS: 'lab, gpu' },
    });
    beta = await startClient(server, {
      displayName: 'beta-nas',
      env: { REACH_PURPOSE: 'Storage', REACH_TAGS: 'lab' },
    });
    s1 = await connect(server);
    s2 = await connect(server);
    await eventually(async () => {
      const list = await ok(s1, 'list_clients');
      return list.online_count === 2 ? list : undefined;
    });
  });

  after(async () => {
    await Promise.allSettled([s1?.close(), s2?.close()]);
    await Promise.allSettled([alpha?.stop(), beta?.stop()]);
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('tools/list names every tool with a small listing', async () => {
    const { tools } = await s1.listTools();
    const names = tools.map((t) => t.name);
    for (const name of [
      'accept_key',
      'configure_client',
      'describe_client',
      'find_client',
      'get_client_metrics',
      'get_rate_limit_stats',
      'list_clients',
      'list_files',
      'read_file',
      'run_command',
      'select_client',
      'ssh_session_close',
      'ssh_session_command',
      'ssh_session_list',
      'ssh_session_open',
      'ssh_session_read',
      'ssh_session_restore',
      'ssh_session_send',
      'update_client',
      'write_file',
      'get_audit_log',
    ]) {
      assert.ok(names.includes(name), `${name} is listed`);
    }
    const bytes = Buffer.byteLength(JSON.stringify(tools));
    // 30 tools (the seven exchange_*/r2_* ones since 11 KB was set) plus idempotency and
    // sensitivity parameters: about 440 bytes each, ~3,500 tokens for the whole listing.
    // read_output and the result-cap parameters and wording add ~1,200 bytes; operation_status
    // and the four idempotency_key parameters ~700; the five job_* tools and run_command's wait
    // ~2,450 (job_wait 641 of them); run_on_clients ~1,450; paging list_clients and find_client
    // (online_only, limit, cursor) ~270; `execution.taskSupport` on run_command/run_on_clients 78;
    // update_clients and update_status ~1,150; get_audit_log's caller/outcome/until/cursor
    // filters and next_cursor ~300 (20,978 bytes measured with them).
    assert.ok(bytes < 21_500, `tools/list is ${bytes} bytes`);
  });

  test('list_clients and describe_client show identity derived from the handshake', async () => {
    const list = await ok(s1, 'list_clients');
    assert.equal(list.total_count, 2);
    const a = list.clients.find((c: any) => c.uuid === alpha.uuid);
    assert.equal(a.display_name, 'Alpha Lab');
    assert.equal(a.online, true);
    assert.equal(a.key_mismatch, false);
    const d = await ok(s1, 'describe_client', { client_id: 'alpha lab' });
    assert.equal(d.uuid, alpha.uuid);
    assert.match(d.public_key_fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.ok(d.current_connection.hostname);
    const byUuid = await ok(s1, 'describe_client', { uuid: alpha.uuid });
    assert.equal(byUuid.display_name, 'Alpha Lab');
    await fails(s1, 'describe_client', {}, 'INVALID_ARGUMENT');
  });

  test('each session keeps its own selected client', async () => {
    await fails(s1, 'run_command', { cmd: 'true' }, 'NO_ACTIVE_CLIENT');
    await ok(s1, 'select_client', { client_id: 'Alpha Lab' });
    await ok(s2, 'select_client', { client_id: beta.uuid });
    const r1 = await ok(s1, 'run_command', { cmd: 'echo "$REACH_HOME"' });
    const r2 = await ok(s2, 'run_command', { cmd: 'echo "$REACH_HOME"' });
    assert.equal(r1.stdout.trim(), alpha.home);
    assert.equal(r2.stdout.trim(), beta.home);
    const l1 = await ok(s1, 'list_clients');
    assert.equal(l1.active_client, alpha.uuid);
    assert.equal(l1.clients.find((c: any) => c.uuid === alpha.uuid).is_selected, true);
  });

  test('unknown clients give CLIENT_NOT_FOUND listing what is online', async () => {
    const body = await fails(s1, 'select_client', { client_id: 'nope' }, 'CLIENT_NOT_FOUND');
    const online = (body.details.online as { uuid: string }[]).map((c) => c.uuid).sort();
    assert.deepEqual(online, [alpha.uuid, beta.uuid].sort());
    await fails(s1, 'run_command', { cmd: 'true', client_id: 'nope' }, 'CLIENT_NOT_FOUND');
  });

  test('find_client filters combine with AND, case-insensitively', async () => {
    const byTag = await ok(s1, 'find_client', { tags: ['LAB'] });
    assert.equal(byTag.count, 2);
    const both = await ok(s1, 'find_client', { tags: ['lab', 'GPU'] });
    assert.deepEqual(
      both.clients.map((c: any) => c.uuid),
      [alpha.uuid],
    );
    const q = await ok(s1, 'find_client', { query: 'STORAGE', online_only: true });
    assert.deepEqual(
      q.clients.map((c: any) => c.uuid),
      [beta.uuid],
    );
    const none = await ok(s1, 'find_client', { query: 'storage', tags: ['gpu'] });
    assert.equal(none.count, 0);
    const purpose = await ok(s1, 'find_client', { purpose: 'gpu training' });
    assert.equal(purpose.count, 1);
  });

  test('run_command: result shape, env, cwd, exit codes and limits', async () => {
    const r = await ok(s1, 'run_command', {
      cmd: 'echo out; echo err >&2; exit 3',
      cwd: work,
      env: { X: '1' },
    });
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.returncode, 3);
    assert.equal(r.truncated, false);
    assert.equal(typeof r.duration_ms, 'number');
    const pwd = await ok(s1, 'run_command', { cmd: 'pwd; echo $X', cwd: work, env: { X: 'yes' } });
    assert.equal(pwd.stdout, `${work}\nyes\n`);
    await fails(s1, 'run_command', { cmd: 'x'.repeat(10_001) }, 'INVALID_ARGUMENT');
    await fails(s1, 'run_command', { cmd: 'true', timeout: 0 }, 'INVALID_ARGUMENT');
    await fails(s1, 'run_command', { cmd: 'true', cwd: 'relative/dir' }, 'INVALID_ARGUMENT');
  });

  test('run_command past its cap: truncated result and read_output pages match their declared schemas', async () => {
    // ok() parses both results with the schemas docs/tools.md prints: the truncated shape
    // (stdout_bytes, output_id) and read_output's page are checked only here over the TS SDK.
    const r = await ok(s1, 'run_command', {
      cmd: 'head -c 5000 /dev/zero | tr "\\0" a',
      max_output_bytes: 1024,
    });
    assert.equal(r.truncated, true);
    assert.equal(r.stdout_bytes, 5000);
    const page = await ok(s1, 'read_output', { output_id: r.output_id, length: 4096 });
    assert.equal(page.size, 5000);
    assert.ok(page.length > 0 && page.length <= 4096);
    assert.equal(page.content, 'a'.repeat(page.length));
  });

  test('run_command honours the timeout end to end and returns partial output', async () => {
    const body = await fails(
      s1,
      'run_command',
      { cmd: 'echo partial; sleep 30', timeout: 1 },
      'COMMAND_TIMEOUT',
    );
    assert.equal(body.details.stdout, 'partial\n');
  });

  test('run_command reports progress when the caller asks for it', async () => {
    const seen: number[] = [];
    const r = await callTool(
      s1,
      'run_command',
      { cmd: 'sleep 2.5; echo done' },
      {
        onprogress: (p) => seen.push(p.progress),
      },
    );
    assert.equal(r.isError, false);
    assert.equal(r.body.stdout, 'done\n');
    assert.ok(seen.length >= 1, 'at least one progress notification');
  });

  test('files: write, read, list, binary, and typed errors', async () => {
    const path = join(work, 'sub', 'hello.txt');
    const w = await ok(s1, 'write_file', { path, content: 'héllo' });
    assert.equal(w.size, Buffer.byteLength('héllo'));
    assert.equal(readFileSync(path, 'utf8'), 'héllo');
    const r = await ok(s1, 'read_file', { path });
    assert.equal(r.content, 'héllo');
    const bin = Buffer.from([0, 255, 1, 254]);
    await ok(s1, 'write_file', { path: join(work, 'b.bin'), content: bin.toString('base64'), binary: true });
    const rb = await ok(s1, 'read_file', { path: join(work, 'b.bin') });
    assert.equal(rb.binary, true);
    assert.equal(Buffer.from(rb.content, 'base64').compare(bin), 0);
    const l = await ok(s1, 'list_files', { path: work });
    const names = l.entries.map((e: any) => e.name).sort();
    assert.deepEqual(names, ['b.bin', 'sub']);
    assert.match(l.entries.find((e: any) => e.name === 'sub').mode, /^d[rwx-]{9}$/);
    await fails(s1, 'read_file', { path: join(work, 'missing') }, 'FILE_NOT_FOUND');
    await fails(s1, 'read_file', { path: 'not/absolute' }, 'INVALID_ARGUMENT');
    // Past the old 10 MiB limit: one page at the 256 KiB cap (base64 of zeros), not FILE_TOO_LARGE.
    writeFileSync(join(work, 'big.bin'), Buffer.alloc(10 * 1024 * 1024 + 1));
    const big = await ok(s1, 'read_file', { path: join(work, 'big.bin') });
    assert.deepEqual([big.size, big.offset, big.eof, big.binary], [10 * 1024 * 1024 + 1, 0, false, true]);
    assert.ok(Buffer.byteLength(JSON.stringify(big.content)) <= 256 * 1024);
    const end = await ok(s1, 'read_file', {
      path: join(work, 'big.bin'),
      offset: 10 * 1024 * 1024,
      length: 10,
    });
    assert.deepEqual([end.length, end.eof], [1, true]);
  });

  test('server-side allowed_paths confine file access; symlinks and .. cannot escape', async () => {
    const inside = join(work, 'inside');
    await ok(s1, 'write_file', { path: join(inside, 'ok.txt'), content: 'ok' });
    symlinkSync('/etc', join(inside, 'etc-link'));
    const upd = await ok(s1, 'update_client', { uuid: alpha.uuid, allowed_paths: [inside] });
    assert.deepEqual(upd.updated.allowed_paths, [inside]);
    await ok(s1, 'read_file', { path: join(inside, 'ok.txt') });
    await fails(s1, 'read_file', { path: '/etc/hostname' }, 'PATH_DENIED');
    await fails(s1, 'read_file', { path: join(inside, 'etc-link', 'hostname') }, 'PATH_DENIED');
    await fails(s1, 'read_file', { path: `${inside}/../inside/../../etc/hostname` }, 'PATH_DENIED');
    await fails(s1, 'list_files', { path: '/' }, 'PATH_DENIED');
    await fails(s1, 'write_file', { path: join(work, 'outside.txt'), content: 'x' }, 'PATH_DENIED');
    const cleared = await ok(s1, 'update_client', { uuid: alpha.uuid, allowed_paths: null });
    assert.deepEqual(cleared.updated.allowed_paths, []);
    await ok(s1, 'read_file', { path: join(work, 'sub', 'hello.txt') });
  });

  test('update_client edits, clears with null and validates lengths', async () => {
    const u = await ok(s1, 'update_client', { uuid: beta.uuid, purpose: 'Backups', tags: ['nas', 'lab'] });
    assert.equal(u.updated.purpose, 'Backups');
    assert.deepEqual(u.updated.tags, ['nas', 'lab']);
    const c = await ok(s1, 'update_client', { uuid: beta.uuid, purpose: null });
    assert.equal(c.updated.purpose, '');
    await fails(s1, 'update_client', { uuid: beta.uuid, display_name: 'x'.repeat(101) }, 'INVALID_ARGUMENT');
    await fails(s1, 'update_client', { uuid: beta.uuid, purpose: 'x'.repeat(201) }, 'INVALID_ARGUMENT');
    await fails(s1, 'update_client', { uuid: 'nobody', purpose: 'x' }, 'CLIENT_NOT_FOUND');
  });

  test('configure_client and get_rate_limit_stats', async () => {
    const c = await ok(s1, 'configure_client', {
      uuid: beta.uuid,
      webhook_url: 'http://127.0.0.1:9/hook',
      rate_limit_rpm: 500,
      rate_limit_concurrent: 7,
    });
    assert.equal(c.webhook_url, 'http://127.0.0.1:9/hook');
    assert.equal(c.rate_limit_rpm, 500);
    const stats = await ok(s2, 'get_rate_limit_stats', { uuid: beta.uuid });
    assert.equal(stats.stats.rpm_limit, 500);
    assert.equal(stats.stats.concurrent_limit, 7);
    assert.equal(stats.stats.mode, 'warn');
    assert.ok(stats.stats.requests_per_minute >= 1);
    // Warn mode (the default): over the limit, calls still run and are counted.
    await ok(s1, 'configure_client', { uuid: beta.uuid, rate_limit_rpm: 1 });
    for (let i = 0; i < 3; i++) await ok(s1, 'run_command', { cmd: 'true', client_id: beta.uuid });
    const warned = await ok(s2, 'get_rate_limit_stats', { uuid: beta.uuid });
    assert.ok(warned.stats.rpm_warnings >= 2, JSON.stringify(warned));
    await ok(s1, 'configure_client', { uuid: beta.uuid, rate_limit_rpm: 500 });
    const cleared = await ok(s1, 'configure_client', { uuid: beta.uuid, webhook_url: '' });
    assert.equal(cleared.webhook_url, null);
    await fails(s1, 'configure_client', { uuid: beta.uuid, rate_limit_rpm: 1001 }, 'INVALID_ARGUMENT');
    await fails(s1, 'configure_client', { uuid: beta.uuid, webhook_url: 'ftp://x' }, 'INVALID_ARGUMENT');
  });

  test('get_client_metrics: full and summary', async () => {
    const full = await ok(s1, 'get_client_metrics', {});
    assert.equal(full.cpu.load_average.length, 3);
    assert.ok(full.memory.total_gb > 0);
    const summary = await ok(s1, 'get_client_metrics', { summary: true });
    assert.deepEqual(Object.keys(summary).sort(), [
      'cpu_percent',
      'disk_percent',
      'memory_percent',
      'uptime_hours',
    ]);
  });

  test('bad tool arguments and unknown tools are INVALID_ARGUMENT results', async () => {
    await fails(s1, 'select_client', {}, 'INVALID_ARGUMENT');
    await fails(s1, 'no_such_tool', {}, 'INVALID_ARGUMENT');
  });

  test('HTTP auth: no key, wrong key and key in the query are refused; /health is open', async () => {
    const base = `http://127.0.0.1:${server.httpPort}`;
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    const h = (await health.json()) as any;
    assert.equal(h.status, 'ok');
    assert.equal(h.clients.online, 2);
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await fetch(`${base}/mcp`, { method: 'POST', headers, body: init });
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as any).error, 'UNAUTHORIZED');
    const wrong = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { ...headers, authorization: 'Bearer wrong' },
      body: init,
    });
    assert.equal(wrong.status, 401);
    const query = await fetch(`${base}/mcp?api_key=${API_KEY}`, { method: 'POST', headers, body: init });
    assert.equal(query.status, 401);
    const queryWithHeader = await fetch(`${base}/mcp?token=${API_KEY}`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${API_KEY}` },
      body: init,
    });
    assert.equal(queryWithHeader.status, 401, 'a key in the query is refused even with a good header');
    await assert.rejects(connect(server, 'wrong-key'));
  });

  test('DNS rebinding: a foreign Host or Origin is refused on /mcp', async () => {
    const base = `http://127.0.0.1:${server.httpPort}`;
    const r = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_KEY}`,
        origin: 'http://evil.example',
        'content-type': 'application/json',
      },
      body: '{}',
    });
    assert.equal(r.status, 403);
  });
});
