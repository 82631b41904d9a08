/**
 * End to end, lifecycle: server restart with the same data dir, a changed server host key, an
 * unknown client key, a UUID reused with another key (quarantine), --list-clients over SSH.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ed25519KeyPair } from '../../../test-support/ed25519-key-pair.ts';
import { type ClientHome, type Proc, prepareClientHome, runReach, startClient } from './e2e-harness.ts';
import { startTestServer, type TestServer, tempDir, waitFor } from './link-harness.ts';

describe('e2e: lifecycle and identity', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let serverDir: string;
  let ts: TestServer;
  const procs: Proc[] = [];

  before(async () => {
    dir = await tempDir('reach-e2e-life-');
    serverDir = join(dir.path, 'server');
    ts = await startTestServer(serverDir, ['--heartbeat-interval', '2']);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await ts?.close();
    await dir?.remove();
  });

  function start(client: ClientHome): Proc {
    const p = startClient(client, ts.server.sshPort);
    procs.push(p);
    return p;
  }

  async function online(client: ClientHome, p: Proc): Promise<void> {
    await waitFor(() => ts.server.services.registry.get(client.uuid), 20_000, 'client online').catch(
      (err) => {
        throw new Error(`${(err as Error).message}\n${p.output()}`);
      },
    );
  }

  test('server restart: the client comes back by itself, same UUID, operator settings intact', async () => {
    const home = join(await realpath(dir.path), 'c-restart');
    const client = await prepareClientHome(home, { serverDataDir: serverDir, allowedPaths: [home] });
    // The server's list narrows the client's own (its home) to one directory inside it.
    const shared = join(home, 'shared');
    await mkdir(shared);
    await writeFile(join(shared, 'note.txt'), 'shared note');
    const p = start(client);
    await online(client, p);
    const clients = ts.server.services.clients;
    await clients.update(client.uuid, {
      display_name: 'Operator Name',
      tags: ['prod'],
      allowed_paths: [shared],
    });
    clients.configure(client.uuid, {
      webhook_url: 'https://hooks.example.com/x',
      rate_limit_rpm: 30,
      rate_limit_concurrent: 3,
    });
    const port = ts.server.sshPort;
    await ts.close();
    ts = await startTestServer(serverDir, ['--ssh-port', String(port), '--heartbeat-interval', '2']);
    await online(client, p);

    const d = ts.server.services.clients.resolve(client.uuid);
    assert.equal(d.uuid, client.uuid);
    assert.equal(d.connection_count, 2);
    assert.equal(d.display_name, 'Operator Name');
    assert.deepEqual(d.tags, ['prod']);
    assert.deepEqual(d.allowed_paths, [shared]);
    assert.equal(d.webhook_url, 'https://hooks.example.com/x');
    assert.equal(d.rate_limit_rpm, 30);
    assert.equal(d.rate_limit_concurrent, 3);
    // The stored server-side policy was pushed again at registration.
    const r = await ts.server.services.clients.call(client.uuid, 'read_file', {
      path: join(shared, 'note.txt'),
    });
    assert.equal(r.content, 'shared note');
    await assert.rejects(
      ts.server.services.clients.call(client.uuid, 'read_file', { path: join(home, 'config.yaml') }),
      { code: 'PATH_DENIED' },
    );
    // The pinned host key survived too (same data dir), so the client reconnected without complaint.
    assert.doesNotMatch(p.output(), /SSH_HOST_KEY_MISMATCH/);

    const listed = await runReach(
      ['--list-clients', '--json', '-s', '127.0.0.1', '-p', String(port)],
      client.env,
    );
    assert.equal(listed.code, 0, listed.stderr);
    const body = JSON.parse(listed.stdout) as {
      clients: Array<{ uuid: string; display_name: string; online: boolean }>;
    };
    assert.ok(
      body.clients.some((c) => c.uuid === client.uuid && c.display_name === 'Operator Name' && c.online),
    );
  });

  test('a changed server host key: the client refuses and exits non-zero naming both fingerprints', async () => {
    const client = await prepareClientHome(join(dir.path, 'c-hostkey'), { serverDataDir: serverDir });
    const other = ed25519KeyPair();
    const otherBlob = other.public.split(' ')[1]!;
    await writeFile(
      join(client.home, 'known_hosts'),
      `[127.0.0.1]:${ts.server.sshPort} ssh-ed25519 ${otherBlob}\n`,
    );
    const p = start(client);
    const exit = await p.exited;
    assert.notEqual(exit, 0);
    assert.ok(p.output().includes(ts.server.hostKeyFingerprint), p.output());
    const { blobFingerprint } = await import('../../client/src/tunnel/known-hosts.ts');
    assert.ok(p.output().includes(blobFingerprint(Buffer.from(otherBlob, 'base64'))), p.output());
    assert.equal(ts.server.services.registry.get(client.uuid), undefined);
  });

  test('an unknown client key is refused by the server', async () => {
    const client = await prepareClientHome(join(dir.path, 'c-unknown'));
    const r = await runReach(
      ['--list-clients', '-s', '127.0.0.1', '-p', String(ts.server.sshPort)],
      client.env,
    );
    assert.notEqual(r.code, 0);
    // One line naming the refused key, then the exact command that authorizes it.
    assert.match(
      r.stderr,
      /does not accept this client's key SHA256:\S+; authorize it on the server with:\n {2}reach-server authorize 'ssh-ed25519 AAAA\S+ [^']*'\n/,
    );
    const p = start(client);
    await waitFor(() => /SSH_AUTH_FAILED/.test(p.output()), 15_000, 'auth failure logged');
    assert.equal(ts.server.services.registry.get(client.uuid), undefined);
    assert.ok(ts.lines.some((l) => l.msg === 'authentication refused'));
    await p.stop();
  });

  test('a UUID reused with another key is quarantined until accept_key', async () => {
    const original = await prepareClientHome(join(dir.path, 'c-orig'), { serverDataDir: serverDir });
    const pOrig = start(original);
    await online(original, pOrig);
    const trustedFp = ts.server.services.clients.resolve(original.uuid).public_key_fingerprint;

    // A second installation copies the config (same UUID) but has its own key.
    const impostorHome = join(dir.path, 'c-impostor');
    await mkdir(impostorHome, { recursive: true });
    await copyFile(join(original.home, 'config.yaml'), join(impostorHome, 'config.yaml'));
    const impostor = await prepareClientHome(impostorHome, { serverDataDir: serverDir });
    assert.equal(impostor.uuid, original.uuid);

    // While the trusted key is online, the other key never pushes it out.
    const pImp = start(impostor);
    await waitFor(
      () => ts.server.services.clients.resolve(original.uuid).key_mismatch,
      15_000,
      'mismatch seen',
    );
    const stillTrusted = await ts.server.services.clients.call(original.uuid, 'heartbeat', {});
    assert.ok(stillTrusted.ts > 0);
    await pImp.stop();

    pOrig.proc.kill('SIGKILL');
    await waitFor(() => !ts.server.services.registry.get(original.uuid), 10_000, 'original offline');
    const pImp2 = start(impostor);
    await waitFor(
      () => ts.server.services.registry.get(original.uuid)?.quarantined,
      20_000,
      'quarantined online',
    );
    const clients = ts.server.services.clients;
    await assert.rejects(clients.call(original.uuid, 'run_command', { cmd: 'id' }), {
      code: 'SSH_KEY_MISMATCH',
    });
    const d = clients.resolve(original.uuid);
    assert.equal(d.key_mismatch, true);
    assert.equal(d.public_key_fingerprint, trustedFp);
    const listed = await runReach(
      ['--list-clients', '-s', '127.0.0.1', '-p', String(ts.server.sshPort)],
      impostor.env,
    );
    assert.notEqual(listed.code, 0);
    assert.match(listed.stderr, /accept/);

    const accepted = clients.acceptKey(original.uuid);
    assert.equal(accepted.key_mismatch, false);
    assert.equal(accepted.previous_fingerprint, trustedFp);
    const r = await clients.call(original.uuid, 'run_command', { cmd: 'echo accepted' });
    assert.equal(r.stdout, 'accepted\n');
    await pImp2.stop();
    assert.match(await readFile(join(serverDir, 'authorized_keys'), 'utf8'), /ssh-ed25519/);
  });
});
