import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/main.ts';
import { manifestFor, testReleaseKey } from './release-signer.ts';
import { waitFor } from './rpc-context.ts';
import { mcpSession, type ServerProcess, startServerProcess } from './server-process.ts';

const API_KEY = 'update-e2e-test-api-key-0123456789';
const REPO = join(import.meta.dirname, '..', '..', '..', '..');
export const ARTIFACT = `reach-${process.platform === 'win32' ? 'windows' : 'linux'}-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}`;
const TERMINAL = new Set(['healthy', 'rolled_back', 'failed', 'skipped']);

/** A launcher: notes its pid (for cleanup), then becomes the client bundle reporting `version`. */
export function launcher(version: string, padding = 0): Buffer {
  const text =
    '#!/bin/sh\necho $$ >> "$REACH_HOME/pids"\n' +
    `REACH_BUILD_VERSION=${version} exec "${process.execPath}" "${join(REPO, 'packages/client/src/bin.ts')}" "$@"\n`;
  // Never read: sh has exec'd node by then. It makes the download long enough to be cut.
  return Buffer.concat([Buffer.from(text), Buffer.alloc(padding, 0x23)]);
}

/**
 * A real reach-server (HTTP transport: clients fetch from its /releases route) and one client
 * whose executable (REACH_UPDATE_EXE) starts as `initial`, trusting a throwaway release key.
 */
export interface UpdateHarnessOptions {
  /** More reach-server flags (`--releases-auth api-key`, `--release-url …`). */
  serverArgs?: (ports: { http: number }) => string[];
  /** A fixed HTTP port (for a --release-url naming it); default: any free one. */
  httpPort?: number;
  /** More client environment (`REACH_AUTO_UPDATE: 'false'`). */
  clientEnv?: Record<string, string>;
}

export async function startUpdateHarness(initial: Buffer, opts: UpdateHarnessOptions = {}) {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'reach-update-e2e-')));
  const home = join(root, 'client');
  const exe = join(root, 'bin', 'reach');
  const key = testReleaseKey();
  await mkdir(join(root, 'bin'), { recursive: true });
  await writeFile(exe, initial);
  await chmod(exe, 0o755);
  const http = opts.httpPort ?? 0;
  const server: ServerProcess = await startServerProcess(
    join(root, 'server'),
    API_KEY,
    { ssh: 0, http },
    opts.serverArgs?.({ http }) ?? [],
  );
  const env: Record<string, string | undefined> = {
    REACH_HOME: home,
    PATH: process.env.PATH,
    REACH_SERVER_HOST: '127.0.0.1',
    REACH_SERVER_PORT: String(server.sshPort),
    REACH_RECONNECT_DELAY: '0.2',
    REACH_LOG_LEVEL: 'info',
    REACH_UPDATE_EXE: exe,
    REACH_UPDATE_HEALTH_WINDOW_S: '30',
    ...opts.clientEnv,
  };
  const quiet = { env, stdout: () => undefined, stderr: () => undefined };
  assert.equal(await main(['--init', '--update-public-key', key.line], quiet), 0);
  assert.equal(await main(['--generate-key'], quiet), 0);
  let out = '';
  await main(['--show-uuid'], { ...quiet, stdout: (t) => (out += t) });
  const uuid = out.trim();
  const auth = spawn(process.execPath, [
    join(REPO, 'packages/server/src/bin.ts'),
    ...['--data-dir', join(root, 'server'), 'authorize', join(home, 'id_ed25519.pub')],
  ]);
  assert.equal(await new Promise((r) => auth.once('exit', r)), 0);
  const mcp = await mcpSession(server.httpPort, API_KEY);

  const online = async () => {
    const r = await mcp.call('list_clients', {});
    return (r.clients as Array<{ uuid: string; online: boolean }>).some((c) => c.uuid === uuid && c.online);
  };
  const h = {
    root,
    home,
    exe,
    key,
    uuid,
    mcp,
    online,
    /** Puts a release where the server serves it: manifest (signed by `signer`), signature, artifact. */
    async release(version: string, body: Buffer, opts: { served?: Buffer; signer?: typeof key } = {}) {
      const dir = join(root, 'server', 'releases', version);
      await mkdir(dir, { recursive: true });
      const manifest = manifestFor(version, ARTIFACT, body);
      await writeFile(join(dir, 'release.json'), manifest);
      await writeFile(join(dir, 'release.json.minisig'), (opts.signer ?? key).sign(manifest));
      await writeFile(join(dir, ARTIFACT), opts.served ?? body);
    },
    /** The version serving: the launcher's REACH_BUILD_VERSION, which commands inherit. */
    async runningVersion() {
      const r = await mcp.call('run_command', {
        client_id: uuid,
        cmd: 'echo $REACH_BUILD_VERSION',
        timeout: 20,
      });
      return String(r.stdout ?? '').trim();
    },
    async startClient() {
      const child = spawn(exe, [], { env, stdio: 'ignore', detached: true });
      child.unref();
      assert.ok(await waitFor(online, 20_000), 'the client came online');
    },
    /** update_clients to this client, then update_status until its state is final. */
    async rollout(version: string, until?: () => Promise<void>) {
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
    },
    /** Kills every process the launchers noted, then the server, and removes the files. */
    async close() {
      const pids = (await readFile(join(home, 'pids'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
      for (const p of pids) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {}
      }
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
  return { ...h, server };
}
export type UpdateHarness = Awaited<ReturnType<typeof startUpdateHarness>>;
