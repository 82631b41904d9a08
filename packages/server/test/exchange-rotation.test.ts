/**
 * r2_list_tokens / r2_rotate_keys / r2_check_rotation_status against a loopback server speaking
 * the Cloudflare API's token endpoints (real paths and envelopes), whose tokens are the key pairs
 * the local S3 server accepts: after a rotation the old key is refused by the bucket, so exchange
 * calls that still work prove the running server switched keys without a restart.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ReachError } from '@reach/protocol';
import { CloudflareTokenApi } from '../src/storage/cloudflare-api.ts';
import { S3ObjectStore } from '../src/storage/s3-object-store.ts';
import { CF_ACCOUNT, CF_TOKEN, S3_BUCKET, S3_KEY, type S3Process, startS3 } from './helpers/s3-process.ts';
import {
  connect,
  kill,
  type ServerHandle,
  startReceiver,
  startServer,
} from './helpers/transfer-e2e-fixture.ts';
import { fails, ok } from './mcp/mcp-client.ts';

describe('R2 key rotation through the Cloudflare API', () => {
  let work: string;
  let s3: S3Process;
  let server: ServerHandle;
  let mcp: Client;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let env: Record<string, string>;
  const dataDir = () => join(work, 'server');

  const start = async (): Promise<void> => {
    server = await startServer(dataDir(), join(work, 'extra'), receiver.url, 0, env);
    mcp = await connect(server.httpPort);
  };
  const stop = async (): Promise<void> => {
    await mcp?.close().catch(() => {});
    if (server) await kill(server.proc, 'SIGTERM');
  };
  const bucketWith = (accessKeyId: string, secretAccessKey: string) =>
    new S3ObjectStore({
      endpoint: s3.endpoint,
      region: 'auto',
      bucket: S3_BUCKET,
      accessKeyId,
      secretAccessKey,
      forcePathStyle: true,
    });
  const roundTrip = async (name: string): Promise<void> => {
    await writeFile(join(dataDir(), 'transfers', name), name);
    const up = await ok(mcp, 'exchange_upload', { local_path: name });
    const down = await ok(mcp, 'exchange_download', {
      transfer_id: up.transfer_id,
      local_path: `back-${name}`,
    });
    assert.equal(down.size, name.length);
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'reach-rotation-'));
    await mkdir(join(work, 'extra'), { recursive: true });
    s3 = await startS3(join(work, 's3'), { withCloudflare: true });
    receiver = await startReceiver();
    env = {
      ...s3.env(),
      REACH_R2_ACCOUNT_ID: CF_ACCOUNT,
      REACH_CLOUDFLARE_API_TOKEN: CF_TOKEN,
      REACH_CLOUDFLARE_API_BASE: s3.cloudflareApi!,
    };
    await start();
  });
  after(async () => {
    await stop();
    await receiver?.close();
    await s3?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('status before any rotation; the token list has the key in use', async () => {
    const status = await ok(mcp, 'r2_check_rotation_status', {});
    assert.deepEqual(status, {
      last_rotation: null,
      days_since_rotation: null,
      rotation_due: true,
      next_rotation_in_days: 0,
    });
    const list = await ok(mcp, 'r2_list_tokens', {});
    assert.ok((list.tokens as Array<{ id: string }>).some((t) => t.id === S3_KEY.accessKeyId));
    assert.equal(list.count, (list.tokens as unknown[]).length);
  });

  test('rotate: a new bucket-scoped key in use at once, stored 0600, the old one deleted and refused', async () => {
    await roundTrip('before.txt');
    const r = await ok(mcp, 'r2_rotate_keys', {});
    assert.equal(r.old_token_deleted, true);
    assert.notEqual(r.new_access_key_id, S3_KEY.accessKeyId);
    const stored = JSON.parse(await readFile(join(dataDir(), 'r2-credentials.json'), 'utf8'));
    assert.equal(stored.access_key_id, r.new_access_key_id);
    assert.equal((await stat(join(dataDir(), 'r2-credentials.json'))).mode & 0o777, 0o600);
    const old = bucketWith(S3_KEY.accessKeyId, S3_KEY.secretAccessKey);
    await assert.rejects(
      old.list('transfers/', 1),
      (e: ReachError) => e.details?.s3_code === 'InvalidAccessKeyId',
    );
    old.close();
    await roundTrip('after.txt');
    const list = await ok(mcp, 'r2_list_tokens', {});
    assert.ok(!(list.tokens as Array<{ id: string }>).some((t) => t.id === S3_KEY.accessKeyId));
    const status = await ok(mcp, 'r2_check_rotation_status', { rotation_days: 30 });
    assert.equal(status.days_since_rotation, 0);
    assert.equal(status.rotation_due, false);
    assert.equal(status.next_rotation_in_days, 30);
    assert.equal(status.last_rotation, stored.rotated_at);
  });

  test('a restart keeps the rotated key (the environment one is revoked)', async () => {
    await stop();
    await start();
    await roundTrip('restarted.txt');
    assert.notEqual((await ok(mcp, 'r2_check_rotation_status', {})).last_rotation, null);
    assert.ok(!server.logs.raw.join('\n').includes(S3_KEY.secretAccessKey));
  });

  test('a failed delete of the old token is reported and the new key is kept', async () => {
    const before = JSON.parse(await readFile(join(dataDir(), 'r2-credentials.json'), 'utf8'));
    await fetch(`${s3.cloudflareApi!.replace('/client/v4', '')}/__test/fail-deletes`, { method: 'POST' });
    const r = await ok(mcp, 'r2_rotate_keys', {});
    assert.equal(r.old_token_deleted, false);
    assert.match(r.message, /deleting the old token .* failed/);
    const now = JSON.parse(await readFile(join(dataDir(), 'r2-credentials.json'), 'utf8'));
    assert.equal(now.access_key_id, r.new_access_key_id);
    assert.notEqual(now.access_key_id, before.access_key_id);
    await roundTrip('kept.txt');
    const list = await ok(mcp, 'r2_list_tokens', {});
    const ids = (list.tokens as Array<{ id: string }>).map((t) => t.id);
    assert.ok(ids.includes(before.access_key_id), 'the old token is still there');
  });

  test('the API refuses a wrong token with its envelope, as PERMISSION_DENIED', async () => {
    const api = new CloudflareTokenApi({
      baseUrl: s3.cloudflareApi!,
      accountId: CF_ACCOUNT,
      apiToken: 'wrong',
    });
    await assert.rejects(
      api.listTokens(),
      (e: ReachError) => e.code === 'PERMISSION_DENIED' && /Authentication error/.test(e.message),
    );
    await fails(mcp, 'r2_check_rotation_status', { rotation_days: 0 }, 'INVALID_ARGUMENT');
  });

  test('with an env file the rotated pair goes there, and a restart from that file uses it', async () => {
    const envFile = join(work, 'server.env');
    await writeFile(envFile, 'REACH_LOG_LEVEL=info\n');
    const current = JSON.parse(await readFile(join(dataDir(), 'r2-credentials.json'), 'utf8'));
    await stop();
    await rm(join(dataDir(), 'r2-credentials.json'));
    env = {
      ...env,
      REACH_S3_ACCESS_KEY_ID: current.access_key_id,
      REACH_S3_SECRET_ACCESS_KEY: current.secret_access_key,
      REACH_S3_CREDENTIALS_ENV_FILE: envFile,
    };
    await start();
    await roundTrip('envfile-before.txt');
    const r = await ok(mcp, 'r2_rotate_keys', { keep_old: true });
    assert.equal(r.old_token_deleted, false);
    const vars = Object.fromEntries(
      (await readFile(envFile, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    assert.equal(vars.REACH_S3_ACCESS_KEY_ID, r.new_access_key_id);
    assert.equal(vars.REACH_LOG_LEVEL, 'info', 'other lines kept');
    assert.equal((await stat(envFile)).mode & 0o777, 0o600);
    await assert.rejects(stat(join(dataDir(), 'r2-credentials.json')), 'nothing written to the data dir');
    await stop();
    env = { ...env, ...vars };
    await start();
    await roundTrip('envfile-after.txt');
    assert.equal((await ok(mcp, 'r2_check_rotation_status', {})).last_rotation, vars.REACH_S3_ROTATED_AT);
  });
});
