/**
 * deploy/docker: the compose file validates (and insists on REACH_API_KEY); where containers can
 * run here, the Dockerfile is built (podman, docker format so HEALTHCHECK is kept, base image from
 * Debian's mirror), the container's server runs as a non-root user, its health check passes, and a
 * client on the host connects to it and runs a command through MCP.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort } from '../../../test-support/openssh.ts';
import { stopChild } from '../../../test-support/stop-child.ts';
import {
  ensureSystemdImage,
  extraCaCertificates,
  podmanEnv,
  SYSTEMD_IMAGE,
  systemdContainerUnavailable,
} from '../../../test-support/systemd-container.ts';
import { eventually } from './mcp/harness.ts';
import { ok } from './mcp/mcp-client.ts';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '../../..');
const COMPOSE = join(REPO, 'deploy/docker/docker-compose.simple.yml');
const CLIENT = join(REPO, 'packages/client/src/bin.ts');
const hasCompose = spawnSync('sh', ['-c', 'command -v docker-compose']).status === 0;
const IMAGE = 'localhost/reach-server:ci';
const API_KEY = 'docker-test-key-0123456789abcdef';

describe('deploy/docker', () => {
  test('docker-compose.simple.yml validates, and refuses to run without REACH_API_KEY', {
    skip: !hasCompose && 'docker-compose is not installed',
  }, () => {
    const env = { ...process.env, REACH_API_KEY: 'x' };
    const good = spawnSync('docker-compose', ['-f', COMPOSE, 'config', '-q'], { env, encoding: 'utf8' });
    assert.equal(good.status, 0, good.stderr);
    const { REACH_API_KEY: _, ...without } = process.env;
    const bad = spawnSync('docker-compose', ['-f', COMPOSE, 'config', '-q'], {
      env: without,
      encoding: 'utf8',
    });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /set REACH_API_KEY/);
  });

  const unavailable = systemdContainerUnavailable();
  describe('the image', { skip: unavailable ?? false, timeout: 1_200_000 }, () => {
    const name = `reach-docker-${process.pid}`;
    let httpPort = 0;
    let sshPort = 0;
    let client: ChildProcess | undefined;
    before(async () => {
      await ensureSystemdImage();
      await run(
        'podman',
        [
          'build',
          '--format',
          'docker',
          '--network',
          'host',
          '--build-arg',
          `BASE=${SYSTEMD_IMAGE}`,
          '--build-arg',
          `EXTRA_CA_CERT=${extraCaCertificates()}`,
          '-f',
          join(REPO, 'deploy/docker/Dockerfile'),
          '-t',
          IMAGE,
          REPO,
        ],
        { env: podmanEnv(), maxBuffer: 256 * 1024 * 1024 },
      );
      [httpPort, sshPort] = [await freePort(), await freePort()];
      await run(
        'podman',
        [
          'run',
          '-d',
          '--name',
          name,
          '--init',
          '-e',
          `REACH_API_KEY=${API_KEY}`,
          // Published on another port than its own: the Host check must be told (compose file too).
          '-e',
          `REACH_ALLOWED_HOSTS=127.0.0.1:${httpPort}`,
          '-p',
          `127.0.0.1:${httpPort}:8765`,
          '-p',
          `127.0.0.1:${sshPort}:2222`,
          IMAGE,
        ],
        { env: podmanEnv() },
      );
    });
    after(async () => {
      if (client) await stopChild(client);
      await run('podman', ['rm', '-f', '-t', '0', name], { env: podmanEnv() }).catch(() => {});
    });

    test('non-root, healthy, and a client on the host runs a command through it', async () => {
      const id = (await run('podman', ['exec', name, 'id', '-u'], { env: podmanEnv() })).stdout.trim();
      assert.equal(id, '10001');
      const health = await eventually(async () => {
        const r = await fetch(`http://127.0.0.1:${httpPort}/health`).catch(() => undefined);
        return r?.ok ? r : undefined;
      }, 60_000);
      assert.equal(health.status, 200);
      await eventually(async () => {
        const r = await run('podman', ['healthcheck', 'run', name], { env: podmanEnv() }).then(
          () => true,
          () => undefined,
        );
        return r;
      }, 60_000);

      // A client on the host; its key authorized inside the container by the image's own reach-server.
      const home = mkdtempSync(join(tmpdir(), 'reach-docker-client-'));
      const env = { ...process.env, REACH_HOME: home, REACH_DISPLAY_NAME: 'docker-host' };
      await run(process.execPath, [CLIENT, '--init'], { env });
      await run(process.execPath, [CLIENT, '--generate-key'], { env });
      const pub = readFileSync(join(home, 'id_ed25519.pub'), 'utf8').trim();
      await run(
        'podman',
        ['exec', name, '/usr/local/bin/node', '/app/packages/server/src/bin.ts', 'authorize', pub],
        {
          env: podmanEnv(),
        },
      );
      client = spawn(process.execPath, [CLIENT, '-s', '127.0.0.1', '-p', String(sshPort)], {
        env,
        stdio: 'ignore',
      });
      const mcp = new Client({ name: 'reach-docker-test', version: '1.0.0' });
      await mcp.connect(
        new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${httpPort}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
        }),
      );
      await eventually(
        async () => ((await ok(mcp, 'list_clients')).online_count === 1 ? true : undefined),
        30_000,
      );
      await ok(mcp, 'select_client', { client_id: 'docker-host' });
      const r = await ok(mcp, 'run_command', { cmd: 'echo from-the-host' });
      assert.equal(r.stdout, 'from-the-host\n');
      await mcp.close();
    });
  });
});
