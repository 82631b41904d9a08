/**
 * exchange_* end to end: a local S3 server that checks SigV4 (s3rver, its own process) behind a
 * proxy that can cut connections, a real reach-server process and a real reach client process.
 * Files go server → bucket → client and client → bucket → server (the client moving the bytes
 * itself with presigned URLs), an offline destination receives its file when it connects, and
 * tampered or expired URLs and a bucket outage leave nothing behind. The 300 MiB round trip is in
 * exchange-e2e-large.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { exchangeE2eFixture } from './helpers/exchange-e2e-fixture.ts';
import { S3_KEY } from './helpers/s3-process.ts';
import { MIB } from './helpers/transfer-e2e-fixture.ts';
import { eventually } from './mcp/harness.ts';
import { callTool, fails, ok } from './mcp/mcp-client.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('file exchange through an S3 bucket, real processes', () => {
  const fx = exchangeE2eFixture();

  test('0 B and 1 MiB: server → bucket → client and client → bucket → server, sha256 equal', async () => {
    for (const size of [0, MIB]) {
      const body = randomBytes(size);
      const name = `up-${size}.bin`;
      await writeFile(join(fx.root, name), body);
      const up = await ok(fx.mcp, 'exchange_upload', { local_path: name, expires_hours: 1 });
      assert.equal(up.size, size);
      assert.equal(up.sha256, sha(body));
      assert.equal(up.source_client, 'server');
      assert.match(up.key, new RegExp(`^transfers/server/${up.transfer_id}/${name}$`));
      assert.match(up.download_url, /X-Amz-Signature=/);
      const info = await fx.bucket().head(up.key);
      assert.equal(info?.metadata.sha256, sha(body), 'sha256 kept as object metadata');

      const dest = join(fx.clientDir, 'down', name);
      const down = await ok(fx.mcp, 'exchange_download', {
        download_url: up.download_url,
        client_path: dest,
      });
      assert.equal(down.sha256, sha(body));
      assert.deepEqual(await readFile(dest), body);

      // Client → bucket → server: the client uploads with presigned URLs.
      const cname = `c-${size}.bin`;
      const cbody = randomBytes(size);
      await writeFile(join(fx.clientDir, cname), cbody);
      const cup = await ok(fx.mcp, 'exchange_upload', { client_path: join(fx.clientDir, cname) });
      assert.equal(cup.source_client, fx.home.uuid);
      assert.equal(cup.sha256, sha(cbody));
      const back = await ok(fx.mcp, 'exchange_download', {
        transfer_id: cup.transfer_id,
        local_path: `back/${cname}`,
      });
      assert.equal(back.size, size);
      assert.deepEqual(await readFile(join(fx.root, 'back', cname)), cbody);
    }
    const events = await eventually(async () => {
      const r2 = fx.receiver.events.filter((e) => e.event === 'r2_transfer');
      return r2.length >= 8 ? r2 : undefined;
    });
    assert.ok(events.some((e) => e.data.direction === 'upload' && e.data.size === MIB));
    assert.ok(fx.receiver.events.some((e) => e.event === 'file_transferred' && e.data.method === 'bucket'));
  });

  test('a tampered or expired presigned URL is refused and leaves no file', async () => {
    const body = randomBytes(4096);
    await writeFile(join(fx.root, 'signed.bin'), body);
    const up = await ok(fx.mcp, 'exchange_upload', { local_path: 'signed.bin' });
    const url = new URL(up.download_url as string);
    const sig = url.searchParams.get('X-Amz-Signature')!;
    url.searchParams.set('X-Amz-Signature', `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}`);
    const tampered = await fails(
      fx.mcp,
      'exchange_download',
      { download_url: url.toString(), client_path: join(fx.clientDir, 'tampered.bin') },
      'R2_DOWNLOAD_ERROR',
    );
    assert.equal(tampered.details.s3_code, 'SignatureDoesNotMatch');
    assert.ok(!JSON.stringify(tampered).includes(sig.slice(8)), 'the signature is not echoed');

    // Signed two hours ago for one hour: expired by the bucket's clock.
    const expiredUrl = await fx.bucket(() => Date.now() - 2 * 3_600_000).presignGet(up.key, 3600);
    const expired = await fails(
      fx.mcp,
      'exchange_download',
      { download_url: expiredUrl, local_path: 'expired.bin' },
      'R2_DOWNLOAD_ERROR',
    );
    assert.equal(expired.details.s3_code, 'AccessDenied');
    const leftovers = [...(await readdir(fx.clientDir)), ...(await readdir(fx.root))];
    assert.ok(
      !leftovers.some((n) => n.includes('tampered') || n.includes('expired') || n.includes('partial')),
    );

    // A URL of another host is not fetched at all.
    await fails(
      fx.mcp,
      'exchange_download',
      { download_url: 'http://127.0.0.2:9/transfers/x', client_path: join(fx.clientDir, 'x') },
      'INVALID_ARGUMENT',
    );
  });

  test('path policy: client_path outside allowed_paths and local_path outside the roots are refused', async () => {
    await writeFile(join(fx.root, 'p.bin'), 'p');
    const up = await ok(fx.mcp, 'exchange_upload', { local_path: 'p.bin' });
    await fails(
      fx.mcp,
      'exchange_download',
      { transfer_id: up.transfer_id, client_path: join(fx.work, 'p.bin') },
      'PATH_DENIED',
    );
    await fails(
      fx.mcp,
      'exchange_upload',
      { client_path: join(fx.work, 'client-home', 'id_ed25519') },
      'PATH_DENIED',
    );
    await fails(fx.mcp, 'exchange_upload', { local_path: '../reach.db' }, 'PATH_DENIED');
    await fails(
      fx.mcp,
      'exchange_download',
      { transfer_id: up.transfer_id, local_path: '/etc/x' },
      'PATH_DENIED',
    );
  });

  test('list shows stored exchanges; delete removes the object and its listing', async () => {
    await writeFile(join(fx.root, 'del.bin'), 'delete me');
    const up = await ok(fx.mcp, 'exchange_upload', { local_path: 'del.bin' });
    const listed = await ok(fx.mcp, 'exchange_list', {});
    const entry = (listed.transfers as Array<Record<string, any>>).find(
      (t) => t.transfer_id === up.transfer_id,
    );
    assert.equal(entry?.state, 'stored');
    assert.equal(entry?.metadata.filename, 'del.bin');
    assert.equal(entry?.metadata.source_client, 'server');
    const del = await ok(fx.mcp, 'exchange_delete', { transfer_id: up.transfer_id, source_client: 'server' });
    assert.deepEqual(del, { key: up.key, deleted: true });
    assert.equal(await fx.bucket().head(up.key as string), undefined);
    const after = await ok(fx.mcp, 'exchange_list', {});
    assert.ok(!(after.transfers as Array<Record<string, any>>).some((t) => t.transfer_id === up.transfer_id));
    await fails(
      fx.mcp,
      'exchange_download',
      { transfer_id: up.transfer_id, local_path: 'gone.bin' },
      'FILE_NOT_FOUND',
    );
    await fails(
      fx.mcp,
      'exchange_delete',
      { transfer_id: up.transfer_id, source_client: 'server' },
      'FILE_NOT_FOUND',
    );
  });

  test('an offline destination client receives its file when it connects', async () => {
    await fx.client.stop();
    await fx.onlineCount(0);
    const body = randomBytes(200_000);
    await writeFile(join(fx.root, 'later.bin'), body);
    const dest = join(fx.clientDir, 'inbox', 'later.bin');
    const up = await ok(fx.mcp, 'exchange_upload', {
      local_path: 'later.bin',
      dest_client: fx.home.uuid,
      dest_path: dest,
    });
    assert.equal(up.state, 'pending');
    const pending = await ok(fx.mcp, 'exchange_list', { client_id: fx.home.uuid });
    assert.equal(
      (pending.transfers as Array<Record<string, any>>).find((t) => t.transfer_id === up.transfer_id)?.state,
      'pending',
    );

    await fx.startClient();
    await ok(fx.mcp, 'select_client', { client_id: fx.home.uuid });
    await eventually(async () => ((await readFile(dest).catch(() => undefined)) ? true : undefined));
    assert.deepEqual(await readFile(dest), body);
    const delivered = await eventually(async () => {
      const l = await ok(fx.mcp, 'exchange_list', { client_id: fx.home.uuid });
      const t = (l.transfers as Array<Record<string, any>>).find((x) => x.transfer_id === up.transfer_id);
      return t?.state === 'delivered' ? t : undefined;
    });
    assert.ok(delivered.delivered_at);
    const audit = await ok(fx.mcp, 'get_audit_log', { tool: 'exchange_deliver', limit: 5 });
    assert.ok((audit.count as number) >= 1, 'the delivery is audited');
    await eventually(async () =>
      fx.receiver.events.some((e) => e.event === 'file_transferred' && e.data.path === dest)
        ? true
        : undefined,
    );
  });

  test('a bucket outage mid-upload leaves no object and no partial file', async () => {
    // Client → bucket, multipart (over 64 MiB): the connection is cut after 20 MiB.
    const big = randomBytes(80 * MIB);
    await writeFile(join(fx.clientDir, 'outage.bin'), big);
    fx.proxy.cutAfter(20 * MIB);
    const r = await callTool(
      fx.mcp,
      'exchange_upload',
      { client_path: join(fx.clientDir, 'outage.bin') },
      { timeout: 120_000 },
    );
    fx.proxy.heal();
    assert.equal(r.isError, true, JSON.stringify(r.body));
    assert.equal(r.body.error, 'R2_UPLOAD_ERROR');
    const objects = await fx.bucket().list(`transfers/${fx.home.uuid}/`, 1000);
    assert.ok(!objects.some((o) => o.key.endsWith('/outage.bin')), 'no object for the failed upload');

    // Server → bucket: the same cut; then bucket → client cut mid-download leaves no file.
    await writeFile(join(fx.root, 'outage.bin'), big);
    fx.proxy.cutAfter(20 * MIB);
    const s = await callTool(fx.mcp, 'exchange_upload', { local_path: 'outage.bin' }, { timeout: 120_000 });
    fx.proxy.heal();
    assert.equal(s.isError, true, JSON.stringify(s.body));
    const serverObjects = await fx.bucket().list('transfers/server/', 1000);
    assert.ok(!serverObjects.some((o) => o.key.endsWith('/outage.bin')), 'no object from the server either');

    const ok1 = await ok(fx.mcp, 'exchange_upload', { local_path: 'outage.bin' });
    fx.proxy.cutAfter(20 * MIB);
    const d = await callTool(
      fx.mcp,
      'exchange_download',
      { transfer_id: ok1.transfer_id, client_path: join(fx.clientDir, 'outage-down', 'outage.bin') },
      { timeout: 120_000 },
    );
    fx.proxy.heal();
    assert.equal(d.isError, true, JSON.stringify(d.body));
    const left = await readdir(join(fx.clientDir, 'outage-down')).catch(() => []);
    assert.deepEqual(left, [], 'no partial file on the client');
  });

  test('the bucket secret appears in no log line, audit row or webhook', async () => {
    const audit = await ok(fx.mcp, 'get_audit_log', { limit: 500 });
    assert.ok((audit.count as number) > 0);
    const everything = [
      fx.server.logs.raw.join('\n'),
      fx.client.output(),
      JSON.stringify(audit),
      JSON.stringify(fx.receiver.events),
    ].join('\n');
    assert.ok(fx.server.logs.raw.some((l) => l.includes('exchange bucket configured')));
    assert.ok(!everything.includes(S3_KEY.secretAccessKey), 'secret leaked');
    // A presigned URL is a bearer credential until it expires: audited and logged without its query.
    assert.ok(JSON.stringify(audit).includes('exchange_download'));
    assert.ok(!everything.includes('X-Amz-Signature='), 'a presigned URL leaked');
  });
});
