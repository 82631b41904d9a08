/**
 * Self-update under a real systemd (#16; PID 1 in a container, see test-support/systemd-container):
 * the client installed with `--install-service --system`, its unit running a launcher that names
 * itself the executable to replace; the server on the host (host networking). Under systemd the
 * old process does not detach the new one: on success it exits 0 and `Restart=always` starts the
 * replaced executable, on a rollback it exits 1 and systemd starts the restored one. Both are
 * driven with update_clients here, and the unit is read (MainPID, NRestarts) on the way.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ensureSystemdImage,
  type SystemdContainer,
  startSystemdContainer,
  systemdContainerUnavailable,
} from '../../../test-support/systemd-container.ts';
import { manifestFor, testReleaseKey } from './helpers/release-signer.ts';
import { waitFor } from './helpers/rpc-context.ts';
import { mcpSession, type ServerProcess, startServerProcess } from './helpers/server-process.ts';
import { ARTIFACT } from './helpers/update-harness.ts';

const REPO = await realpath(join(import.meta.dirname, '..', '..', '..'));
const NODE = await realpath(process.execPath);
const CLIENT = join(REPO, 'packages/client/src/bin.ts');
const SERVER = join(REPO, 'packages/server/src/bin.ts');
const API_KEY = 'update-systemd-test-api-key-0123456789';
const EXE = '/opt/reach/bin/reach';
const CFG = '/etc/reach-client';
const unavailable = systemdContainerUnavailable([REPO, NODE]);

/** The unit's executable: it names itself the file an update replaces and reports `version`. */
function launcher(version: string): Buffer {
  return Buffer.from(
    `#!/bin/sh\nREACH_UPDATE_EXE=${EXE} REACH_BUILD_VERSION=${version} exec ${NODE} ${CLIENT} "$@"\n`,
  );
}

describe('self-update under a real systemd', { skip: unavailable ?? false, timeout: 600_000 }, () => {
  let box: SystemdContainer;
  let server: ServerProcess;
  let root = '';
  let mcp: Awaited<ReturnType<typeof mcpSession>>;
  let uuid = '';
  const key = testReleaseKey();

  const unit = async (prop: string) =>
    (await box.exec(['systemctl', 'show', '-p', prop, '--value', 'reach'])).trim();
  const version = async () => {
    const r = await mcp.call('run_command', {
      client_id: uuid,
      cmd: 'echo $REACH_BUILD_VERSION',
      timeout: 20,
    });
    return r.isError ? undefined : String(r.stdout ?? '').trim();
  };
  const release = async (v: string, body: Buffer) => {
    const dir = join(root, 'server', 'releases', v);
    await mkdir(dir, { recursive: true });
    const manifest = manifestFor(v, ARTIFACT, body);
    await writeFile(join(dir, 'release.json'), manifest);
    await writeFile(join(dir, 'release.json.minisig'), key.sign(manifest));
    await writeFile(join(dir, ARTIFACT), body);
  };
  const rollout = async (v: string) => {
    const started = await mcp.call('update_clients', { version: v, target: { client_ids: [uuid] } });
    assert.equal(started.isError, undefined, JSON.stringify(started));
    let client: Record<string, unknown> = {};
    const done = await waitFor(async () => {
      const s = await mcp.call('update_status', { rollout_id: String(started.rollout_id) });
      client = (s.rollouts as Array<{ clients: Array<Record<string, unknown>> }>)[0]?.clients[0] ?? {};
      return ['healthy', 'rolled_back', 'failed', 'skipped'].includes(String(client.state));
    }, 120_000);
    assert.ok(done, `rollout ended: ${JSON.stringify(client)}`);
    return client;
  };
  const journal = () => box.exec(['journalctl', '-u', 'reach', '--no-pager', '-n', '60']).catch(() => '');

  before(async () => {
    await ensureSystemdImage();
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-update-systemd-')));
    server = await startServerProcess(join(root, 'server'), API_KEY, { ssh: 0, http: 0 });
    mcp = await mcpSession(server.httpPort, API_KEY);
    box = await startSystemdContainer([REPO, ...(NODE.startsWith(REPO) ? [] : [NODE])]);
    const a = launcher('1.0.0').toString('base64');
    await box.exec([
      'sh',
      '-c',
      `mkdir -p /opt/reach/bin && echo ${a} | base64 -d > ${EXE} && chmod 755 ${EXE}`,
    ]);
    await box.exec([EXE, '--init', '--config', CFG, '--update-public-key', key.line]);
    await box.exec([
      'sed',
      '-i',
      `s/^server_host: .*/server_host: 127.0.0.1/; s/^server_port: .*/server_port: ${server.sshPort}/`,
      join(CFG, 'config.yaml'),
    ]);
    await box.exec([EXE, '--generate-key', '--config', CFG]);
    const shown = await box.exec([EXE, '--show-uuid', '--config', CFG]);
    uuid = /[0-9a-f]{8}-[0-9a-f-]{27}/.exec(shown)?.[0] ?? assert.fail(`no uuid in: ${shown}`);
    const pub = join(root, 'client.pub');
    await writeFile(pub, await box.exec(['cat', join(CFG, 'id_ed25519.pub')]));
    execFileSync(NODE, [SERVER, '--data-dir', join(root, 'server'), 'authorize', pub], { stdio: 'ignore' });
    // The unit runs the launcher, not node: what systemd restarts is the file an update replaces.
    const installed = await box.exec([EXE, '--install-service', '--system', '--config', CFG, '--exec', EXE]);
    assert.match(installed, /started/);
    assert.ok(
      await waitFor(async () => (await version()) === '1.0.0', 90_000),
      `online on 1.0.0:\n${await journal()}`,
    );
  });
  after(async () => {
    await box?.remove();
    await server?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('an update exits the old process 0 and systemd starts the new executable, which serves', async () => {
    const restarts = Number(await unit('NRestarts'));
    const b = launcher('1.1.0');
    await release('1.1.0', b);
    const c = await rollout('1.1.0');
    assert.equal(c.state, 'healthy', `${JSON.stringify(c)}\n${await journal()}`);
    // The rollout is healthy at the new version's first registration; the old process then exits 0,
    // systemd stops what is left of the unit and starts ExecStart again: the new executable.
    assert.ok(
      await waitFor(async () => Number(await unit('NRestarts')) > restarts, 60_000),
      `systemd restarted the unit:\n${await journal()}`,
    );
    assert.ok(await waitFor(async () => (await version()) === '1.1.0', 60_000), await journal());
    assert.equal(await unit('ActiveState'), 'active');
    assert.equal(await box.exec(['cat', EXE]), b.toString());
    assert.equal(await box.exec(['cat', `${EXE}.prev`]), launcher('1.0.0').toString());
    const pid = await unit('MainPID');
    assert.match(await box.exec(['cat', `/proc/${pid}/environ`]), /REACH_BUILD_VERSION=1\.1\.0/);
    assert.match(await box.exec(['cat', join(CFG, 'update', 'update.json')]), /"state":"healthy"/);
  });

  test('a new version that exits at start-up: the old process exits 1, systemd starts the restored one', async () => {
    const bad = Buffer.from('#!/bin/sh\necho "1.2.0 cannot start" >&2\nexit 3\n');
    await release('1.2.0', bad);
    const c = await rollout('1.2.0');
    assert.equal(c.state, 'rolled_back', `${JSON.stringify(c)}\n${await journal()}`);
    assert.match(String(c.log_tail), /1\.2\.0 cannot start/);
    assert.ok(await waitFor(async () => (await version()) === '1.1.0', 60_000), await journal());
    assert.equal(await unit('ActiveState'), 'active');
    assert.equal(await box.exec(['cat', EXE]), launcher('1.1.0').toString());
    assert.match(await journal(), /rolled back to the previous version/);
  });
});
