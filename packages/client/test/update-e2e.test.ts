/**
 * Client self-update end to end (#16): a real reach-server (HTTP transport, so clients fetch from
 * its /releases route) and a real client whose "executable" is a small launcher script running
 * the client bundle with REACH_BUILD_VERSION baked in: version A and each B differ only there, so
 * no single executable is built per test. update_clients drives every case; run_command's
 * `echo $REACH_BUILD_VERSION` says which version is serving.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/main.ts';
import { manifestFor, testReleaseKey } from './helpers/release-signer.ts';
import { waitFor } from './helpers/rpc-context.ts';
import { mcpSession, type ServerProcess, startServerProcess } from './helpers/server-process.ts';

const API_KEY = 'update-e2e-test-api-key-0123456789';
const REPO = join(import.meta.dirname, '..', '..', '..');
const ARTIFACT = `reach-${process.platform === 'win32' ? 'windows' : 'linux'}-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}`;
const TERMINAL = new Set(['healthy', 'rolled_back', 'failed', 'skipped']);

/** A launcher: notes its pid (for cleanup), then becomes the client bundle reporting `version`. */
function launcher(version: string, padding = 0): Buffer {
  const text =
    '#!/bin/sh\necho $$ >> "$REACH_HOME/pids"\n' +
    `REACH_BUILD_VERSION=${version} exec "${process.execPath}" "${join(REPO, 'packages/client/src/bin.ts')}" "$@"\n`;
  // Never read: sh has exec'd node by then. It makes the download long enough to be cut.
  return Buffer.concat([Buffer.from(text), Buffer.alloc(padding, 0x23)]);
}

describe('client self-update over a real server and client', { skip: process.platform === 'win32' }, () => {
  let root = '';
  let home = '';
  let exe = '';
  let uuid = '';
  let server: ServerProcess | undefined;
  let mcp: Awaited<ReturnType<typeof mcpSession>>;
  const key = testReleaseKey();
  const A = launcher('1.0.0');
  let env: Record<string, string | undefined> = {};

  /** Puts a release where the server serves it: manifest (signed by `signer`), signature, artifact. */
  async function release(version: string, body: Buffer, opts: { served?: Buffer; signer?: typeof key } = {}) {
    const dir = join(root, 'server', 'releases', version);
    await mkdir(dir, { recursive: true });
    const manifest = manifestFor(version, ARTIFACT, body);
    await writeFile(join(dir, 'release.json'), manifest);
    await writeFile(join(dir, 'release.json.minisig'), (opts.signer ?? key).sign(manifest));
    await writeFile(join(dir, ARTIFACT), opts.served ?? body);
  }

  const online = async () => {
    const r = await mcp.call('list_clients', {});
    return (r.clients as Array<{ uuid: string; online: boolean }>).some((c) => c.uuid === uuid && c.online);
  };
  const runningVersion = async () => {
    const r = await mcp.call('run_command', {
      client_id: uuid,
      cmd: 'echo $REACH_BUILD_VERSION',
      timeout: 20,
    });
    return String(r.stdout ?? '').trim();
  };
  const startA = async () => {
    const child = spawn(exe, [], { env, stdio: 'ignore', detached: true });
    child.unref();
    assert.ok(await waitFor(online, 20_000), 'client A came online');
  };
  /** update_clients to this client, then update_status until its state is final. */
  async function rollout(version: string, until?: () => Promise<void>) {
    const started = await mcp.call('update_clients', { version, target: { client_ids: [uuid] } });
    assert.equal(started.isError, undefined, JSON.stringify(started));
    const id = String(started.rollout_id);
    await until?.();
    let client: Record<string, unknown> = {};
    const done = await waitFor(async () => {
      const s = await mcp.call('update_status', { rollout_id: id });
      const r = (s.rollouts as Array<{ clients: Array<Record<string, unknown>> }>)[0];
      client = r?.clients[0] ?? {};
      return TERMINAL.has(String(client.state));
    }, 90_000);
    assert.ok(done, `rollout ${id} ended: ${JSON.stringify(client)}`);
    return client;
  }

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-update-e2e-')));
    home = join(root, 'client');
    exe = join(root, 'bin', 'reach');
    await mkdir(join(root, 'bin'), { recursive: true });
    await writeFile(exe, A);
    await chmod(exe, 0o755);
    server = await startServerProcess(join(root, 'server'), API_KEY);
    env = {
      REACH_HOME: home,
      PATH: process.env.PATH,
      REACH_SERVER_HOST: '127.0.0.1',
      REACH_SERVER_PORT: String(server.sshPort),
      REACH_RECONNECT_DELAY: '0.2',
      REACH_LOG_LEVEL: 'info',
      REACH_UPDATE_EXE: exe,
      REACH_UPDATE_HEALTH_WINDOW_S: '30',
    };
    const quiet = { env, stdout: () => undefined, stderr: () => undefined };
    assert.equal(await main(['--init', '--update-public-key', key.line], quiet), 0);
    assert.equal(await main(['--generate-key'], quiet), 0);
    let out = '';
    await main(['--show-uuid'], { ...quiet, stdout: (t) => (out += t) });
    uuid = out.trim();
    const auth = spawn(process.execPath, [
      join(REPO, 'packages/server/src/bin.ts'),
      ...['--data-dir', join(root, 'server'), 'authorize', join(home, 'id_ed25519.pub')],
    ]);
    assert.equal(await new Promise((r) => auth.once('exit', r)), 0);
    mcp = await mcpSession(server.httpPort, API_KEY);
    await startA();
  });

  after(async () => {
    const pids = (await readFile(join(home, 'pids'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {}
    }
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  test('a tampered artifact is refused: A keeps running, nothing replaced', async () => {
    const b = launcher('1.1.0');
    const served = Buffer.from(b);
    served.writeUInt8((served.at(-2) ?? 0) ^ 1, served.length - 2);
    await release('1.1.0', b, { served });
    const c = await rollout('1.1.0');
    assert.equal(c.state, 'failed');
    assert.match(String(c.reason), /^INTEGRITY_ERROR/);
    assert.deepEqual(await readFile(exe), A);
    assert.equal(await runningVersion(), '1.0.0');
  });

  test('a manifest signed by another key is refused: A keeps running', async () => {
    await release('1.2.0', launcher('1.2.0'), { signer: testReleaseKey() });
    const c = await rollout('1.2.0');
    assert.equal(c.state, 'failed');
    assert.match(String(c.reason), /^SIGNATURE_INVALID/);
    assert.deepEqual(await readFile(exe), A);
    assert.equal(await runningVersion(), '1.0.0');
  });

  test('a B that exits at start-up is rolled back to A and reported with its last output', async () => {
    await release(
      '1.3.0',
      Buffer.from('#!/bin/sh\necho $$ >> "$REACH_HOME/pids"\necho "B: cannot start" >&2\nexit 7\n'),
    );
    const c = await rollout('1.3.0');
    assert.equal(c.state, 'rolled_back', JSON.stringify(c));
    assert.match(String(c.reason), /exited with code 7/);
    assert.match(String(c.log_tail), /B: cannot start/);
    assert.deepEqual(await readFile(exe), A);
    assert.equal(await runningVersion(), '1.0.0');
  });

  test('SIGKILL mid-download keeps A; the next try finishes, and A→B reconnects reporting B', async () => {
    // 64 MiB: long enough on loopback for the partial file to be seen before it completes.
    const b = launcher('2.0.0', 64 * 1024 * 1024);
    await release('2.0.0', b);
    const part = join(home, 'update', `${ARTIFACT}.part`);
    const first = await rollout('2.0.0', async () => {
      assert.ok(
        await waitFor(async () => ((await stat(part).catch(() => undefined))?.size ?? 0) > 0, 20_000),
        'the download started',
      );
      const pids = (await readFile(join(home, 'pids'), 'utf8')).trim().split('\n');
      process.kill(Number(pids.at(-1)), 'SIGKILL');
    });
    assert.equal(first.state, 'failed');
    assert.deepEqual(await readFile(exe), A);
    const partial = (await stat(part)).size;
    assert.ok(partial > 0 && partial < b.length, `partial ${partial} of ${b.length}`);
    assert.ok(await waitFor(async () => !(await online()), 20_000), 'the killed client went offline');
    await startA();
    assert.equal(await runningVersion(), '1.0.0');

    const second = await rollout('2.0.0');
    assert.equal(second.state, 'healthy', JSON.stringify(second));
    assert.equal(second.from, '1.0.0');
    assert.equal(await runningVersion(), '2.0.0');
    assert.deepEqual(await readFile(exe), b);
    assert.deepEqual(await readFile(`${exe}.prev`), A);
    const state = JSON.parse(await readFile(join(home, 'update', 'update.json'), 'utf8'));
    assert.equal(state.state, 'healthy');
    assert.equal(state.to, '2.0.0');
  });
});
