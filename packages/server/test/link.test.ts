/** The server core and the client tunnel over real loopback SSH, with an in-process fake agent. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ReachError } from '@reach/protocol';
import { callControl } from '../../client/src/tunnel/control.ts';
import {
  type ClientKey,
  fakeAgent,
  memoryLogger,
  newClientKey,
  startTestServer,
  type TestServer,
  tempDir,
  tunnelTo,
  waitFor,
} from './link-harness.ts';

describe('link: server + tunnel', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let ts: TestServer;
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    dir = await tempDir('reach-link-');
    ts = await startTestServer(join(dir.path, 'server'));
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    await ts.close();
    await dir.remove();
  });

  async function online(
    key: ClientKey,
    agent = fakeAgent(),
    name = 'kh',
  ): Promise<ReturnType<typeof tunnelTo>> {
    const t = tunnelTo(ts, key, agent, join(dir.path, `${name}-known_hosts`));
    const running = t.tunnel.start();
    running.catch(() => {});
    closers.push(() => t.tunnel.close());
    await waitFor(() => ts.server.services.registry.get(agent.uuid), 10_000, 'client online');
    return t;
  }

  test('registers, pushes policy, serves calls, and lists over the control subsystem', async () => {
    const key = await newClientKey(ts.dataDir);
    const agent = fakeAgent(undefined, 'alpha');
    await online(key, agent, 'alpha');
    const clients = ts.server.services.clients;
    const detail = clients.resolve('ALPHA');
    assert.equal(detail.uuid, agent.uuid);
    assert.equal(detail.public_key_fingerprint, key.fingerprint);
    assert.equal(detail.online, true);
    assert.equal(detail.hostname, 'test-host');
    assert.deepEqual(agent.policies, [[]]);
    assert.equal(clients.resolve('alpha-id').uuid, agent.uuid);

    const r = await clients.call(agent.uuid, 'run_command', { cmd: 'echo hi' });
    assert.equal(r.stdout, 'echo hi');
    await assert.rejects(clients.call(agent.uuid, 'run_command', { cmd: '' }), { code: 'INVALID_ARGUMENT' });

    const updated = await clients.update(agent.uuid, { allowed_paths: ['/srv'], display_name: 'Alpha One' });
    assert.deepEqual(updated.allowed_paths, ['/srv']);
    assert.deepEqual(agent.policies.at(-1), ['/srv']);

    const listed = (await callControl(
      {
        host: '127.0.0.1',
        port: ts.server.sshPort,
        username: 'reach',
        privateKey: key.privateKey,
        knownHostsPath: join(dir.path, 'ctl-known_hosts'),
        log: memoryLogger().log,
      },
      'list_clients',
      {},
    )) as { clients: Array<{ uuid: string; display_name: string }>; online_count: number };
    assert.ok(listed.clients.some((c) => c.uuid === agent.uuid && c.display_name === 'Alpha One'));
    assert.ok(listed.online_count >= 1);
  });

  test('a cancelled or timed-out call is told to the agent; a closed link fails calls in flight', async () => {
    const key = await newClientKey(ts.dataDir);
    const agent = fakeAgent(undefined, 'beta');
    const t = await online(key, agent, 'beta');
    const clients = ts.server.services.clients;
    await assert.rejects(clients.call(agent.uuid, 'run_command', { cmd: 'sleep' }, { timeoutMs: 100 }), {
      code: 'TIMEOUT',
    });
    const inflight = assert.rejects(
      clients.call(agent.uuid, 'run_command', { cmd: 'sleep' }, { timeoutMs: 60_000 }),
      { code: 'CONNECTION_ERROR' },
    );
    await t.tunnel.close();
    await inflight;
    await waitFor(() => !ts.server.services.registry.get(agent.uuid), 10_000, 'offline');
    await assert.rejects(clients.call(agent.uuid, 'run_command', { cmd: 'x' }), (err: ReachError) => {
      assert.equal(err.code, 'CLIENT_NOT_FOUND');
      assert.ok(Array.isArray(err.details?.online));
      return true;
    });
    assert.equal(clients.resolve(agent.uuid).online, false);
  });

  test('same UUID with another key is quarantined until acceptKey', async () => {
    const first = await newClientKey(ts.dataDir);
    const agent = fakeAgent(undefined, 'gamma');
    const t = await online(first, agent, 'gamma');
    await t.tunnel.close();
    await waitFor(() => !ts.server.services.registry.get(agent.uuid), 10_000, 'offline');

    const second = await newClientKey(ts.dataDir);
    const events: string[] = [];
    ts.server.services.clients.once('key_mismatch', (e) => events.push(e.fingerprint));
    await online(second, agent, 'gamma2');
    const clients = ts.server.services.clients;
    assert.deepEqual(events, [second.fingerprint]);
    const d = clients.resolve(agent.uuid);
    assert.equal(d.key_mismatch, true);
    assert.equal(d.quarantined, true);
    assert.equal(d.public_key_fingerprint, first.fingerprint);
    assert.equal(d.pending_fingerprint, second.fingerprint);
    await assert.rejects(clients.call(agent.uuid, 'run_command', { cmd: 'x' }), { code: 'SSH_KEY_MISMATCH' });
    assert.throws(() => clients.resolveOnline(agent.uuid), { code: 'SSH_KEY_MISMATCH' });
    await assert.rejects(
      callControl(
        {
          host: '127.0.0.1',
          port: ts.server.sshPort,
          username: 'reach',
          privateKey: second.privateKey,
          knownHostsPath: join(dir.path, 'ctl2-known_hosts'),
          log: memoryLogger().log,
        },
        'list_clients',
        {},
      ),
      { code: 'SSH_KEY_MISMATCH' },
    );

    const accepted = clients.acceptKey(agent.uuid);
    assert.equal(accepted.key_mismatch, false);
    assert.equal(accepted.quarantined, false);
    assert.equal(accepted.public_key_fingerprint, second.fingerprint);
    assert.equal(accepted.previous_fingerprint, first.fingerprint);
    const r = await clients.call(agent.uuid, 'run_command', { cmd: 'after accept' });
    assert.equal(r.stdout, 'after accept');
  });

  test('an unknown key is refused, and a key appended to authorized_keys works without restart', async () => {
    const key = await newClientKey();
    const agent = fakeAgent(undefined, 'delta');
    const t = tunnelTo(ts, key, agent, join(dir.path, 'delta-known_hosts'));
    const running = t.tunnel.start();
    running.catch(() => {});
    closers.push(() => t.tunnel.close());
    await waitFor(() => t.lines.find((l) => l.code === 'SSH_AUTH_FAILED'), 10_000, 'auth refusal');
    assert.equal(ts.server.services.registry.get(agent.uuid), undefined);
    assert.ok(ts.lines.some((l) => l.msg === 'authentication refused'));
    await writeFile(join(ts.dataDir, 'authorized_keys'), `${key.publicKey}\n`, { flag: 'a' });
    await waitFor(() => ts.server.services.registry.get(agent.uuid), 15_000, 'online after authorize');
  });

  test('a changed server host key stops the tunnel with both fingerprints named', async () => {
    const key = await newClientKey(ts.dataDir);
    const agent = fakeAgent(undefined, 'eps');
    const kh = join(dir.path, 'eps-known_hosts');
    const fake = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    await writeFile(kh, `[127.0.0.1]:${ts.server.sshPort} ssh-ed25519 ${fake}\n`);
    const t = tunnelTo(ts, key, agent, kh);
    await assert.rejects(t.tunnel.start(), (err: ReachError) => {
      assert.equal(err.code, 'SSH_HOST_KEY_MISMATCH');
      assert.match(err.message, new RegExp(ts.server.hostKeyFingerprint.replace(/[+/]/g, '\\$&')));
      assert.match(err.message, /pinned SHA256:/);
      return true;
    });
    assert.equal(ts.server.services.registry.get(agent.uuid), undefined);
  });
});
