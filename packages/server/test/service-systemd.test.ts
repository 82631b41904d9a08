/**
 * Both services for real under systemd (PID 1 in a container, see test-support/systemd-container):
 * reach-server install-service and reach --install-service --system, started, a client connected
 * through them, restarted by systemd after a crash, stopped, and uninstalled.
 */
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../../test-support/openssh.ts';
import {
  ensureSystemdImage,
  type SystemdContainer,
  startSystemdContainer,
  systemdContainerUnavailable,
} from '../../../test-support/systemd-container.ts';

const REPO = realpathSync(join(import.meta.dirname, '../../..'));
const NODE = realpathSync(process.execPath);
const SERVER = join(REPO, 'packages/server/src/bin.ts');
const CLIENT = join(REPO, 'packages/client/src/bin.ts');
const unavailable = systemdContainerUnavailable([REPO, NODE]);

async function health(port: number): Promise<{ online: number } | undefined> {
  const r = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
  if (!r?.ok) return undefined;
  return ((await r.json()) as { clients: { online: number } }).clients;
}

// 90 s, not 30: alone the server answers in ~2 s, but with the rest of the suite on two cores a
// first start inside the container (the service user's cold compile cache) once took over 30 s.
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('services under a real systemd', { skip: unavailable ?? false, timeout: 600_000 }, () => {
  let box: SystemdContainer;
  before(async () => {
    await ensureSystemdImage();
    box = await startSystemdContainer([REPO, ...(NODE.startsWith(REPO) ? [] : [NODE])]);
  });
  after(async () => box?.remove());

  test('install, start, survive a crash, stop and uninstall reach-mcp and the client', async (t) => {
    const [httpPort, sshPort, receiverPort] = [await freePort(), await freePort(), await freePort()];
    await box.exec([
      'sh',
      '-c',
      `mkdir -p /etc/reach && umask 077 && printf 'REACH_API_KEY=%s\\nREACH_PORT=${httpPort}\\nREACH_SSH_HOST=127.0.0.1\\nREACH_SSH_PORT=${sshPort}\\n' k-0123456789abcdef > /etc/reach/server.env`,
    ]);
    const installed = await box.exec([
      NODE,
      SERVER,
      'install-service',
      '--webhook-receiver',
      '--receiver-port',
      String(receiverPort),
    ]);
    assert.match(installed, /created system user reach/);
    assert.match(installed, /started: systemctl status reach-mcp/);
    await until('the server', () => health(httpPort)).catch(async (err: unknown) => {
      // What systemd saw, so a slow or failed start says why.
      const journal = await box
        .exec(['journalctl', '-u', 'reach-mcp', '--no-pager', '-n', '40'])
        .catch(() => '');
      throw new Error(`${(err as Error).message}; journal:\n${journal}`);
    });
    assert.equal((await box.exec(['systemctl', 'is-enabled', 'reach-mcp'])).trim(), 'enabled');
    // The webhook test receiver, a unit of its own: it takes an event and logs it.
    const delivered = await until('the webhook receiver', () =>
      fetch(`http://127.0.0.1:${receiverPort}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id: 'e1',
          event: 'client.connected',
          timestamp: new Date().toISOString(),
          client: { uuid: 'u', display_name: 'd' },
          data: {},
        }),
      }).then(
        (r) => (r.ok ? r.status : undefined),
        () => undefined,
      ),
    );
    assert.equal(delivered, 200);
    const uid = (await box.exec(['id', '-u', 'reach'])).trim();
    const pid = (await box.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'reach-mcp'])).trim();
    // node runs the server with the service V8 flags its unit was given (serviceCommand).
    assert.match(await box.exec(['cat', `/proc/${pid}/cmdline`]), /--max-semi-space-size=1/);
    assert.match(await box.exec(['cat', `/proc/${pid}/status`]), new RegExp(`^Uid:\\s+${uid}\\s`, 'm'));
    const exposure = /Overall exposure level for reach-mcp\.service: ([\d.]+)/.exec(
      await box.exec(['systemd-analyze', 'security', 'reach-mcp']),
    );
    t.diagnostic(`systemd-analyze security reach-mcp (running unit): ${exposure?.[1]}`);
    assert.ok(Number(exposure?.[1]) <= 2.0);

    // A second install is refused and changes nothing.
    const again = await box.execStatus([NODE, SERVER, 'install-service']);
    assert.equal(again.code, 2);
    assert.match(again.out, /already exists: pass --force/);

    // The client as a system service, its key authorized by the operator.
    const cfg = '/etc/reach-client';
    await box.exec([NODE, CLIENT, '--init', '--config', cfg]);
    await box.exec([
      'sed',
      '-i',
      `s/^server_host: .*/server_host: 127.0.0.1/; s/^server_port: .*/server_port: ${sshPort}/`,
      join(cfg, 'config.yaml'),
    ]);
    await box.exec([NODE, CLIENT, '--generate-key', '--config', cfg]);
    await box.exec([
      NODE,
      SERVER,
      'authorize',
      join(cfg, 'id_ed25519.pub'),
      '--data-dir',
      '/var/lib/reach-server',
    ]);
    assert.match(await box.exec(['stat', '-c', '%U', '/var/lib/reach-server/authorized_keys']), /^reach$/m);
    assert.match(await box.exec([NODE, CLIENT, '--install-service', '--system', '--config', cfg]), /started/);
    await until('the client online', async () => ((await health(httpPort))?.online === 1 ? true : undefined));
    // The agent too (its unit comes from the same serviceCommand).
    const agentPid = (await box.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'reach'])).trim();
    assert.match(await box.exec(['cat', `/proc/${agentPid}/cmdline`]), /--max-semi-space-size=1/);

    // Killed outright: systemd starts it again (Restart=on-failure) and the client comes back.
    await box.exec(['systemctl', 'kill', '-s', 'KILL', 'reach-mcp']);
    await until('a new server process', async () => {
      const now = (await box.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'reach-mcp'])).trim();
      return now !== '0' && now !== pid ? now : undefined;
    });
    await until(
      'the client back online',
      async () => ((await health(httpPort))?.online === 1 ? true : undefined),
      60_000,
    );
    assert.match(await box.exec(['journalctl', '-u', 'reach-mcp', '--no-pager']), /http listening/);

    // A stop is SIGTERM: the server closes its links and exits 0, so the unit is inactive, not failed.
    await box.exec(['systemctl', 'stop', 'reach-mcp']);
    assert.equal((await box.execStatus(['systemctl', 'is-active', 'reach-mcp'])).out.trim(), 'inactive');
    assert.equal(await health(httpPort), undefined);

    assert.match(
      await box.exec([NODE, CLIENT, '--uninstall-service', '--system', '--config', cfg]),
      /removed/,
    );
    const removed = await box.exec([NODE, SERVER, 'install-service', '--uninstall']);
    assert.match(removed, /removed \/etc\/systemd\/system\/reach-mcp\.service/);
    assert.match(removed, /removed \/etc\/systemd\/system\/reach-webhook-receiver\.service/);
    assert.match(
      await box.exec(['cat', '/var/lib/reach-server/webhook-receiver.jsonl']),
      /"event":"client\.connected"/,
    );
    // No unit left: list-unit-files prints nothing (and exits 1 for an empty match).
    assert.equal(
      (await box.execStatus(['systemctl', 'list-unit-files', '--no-legend', 'reach*'])).out.trim(),
      '',
    );
    assert.match(await box.exec(['ls', '/var/lib/reach-server']), /reach\.db/, 'data kept without --purge');
  });
});
