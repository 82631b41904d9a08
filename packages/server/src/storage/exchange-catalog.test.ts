/**
 * The 48 h expiry sweep, list and delete against a real S3 server process (s3rver, SigV4
 * checked), with the catalog's clock injected: no waiting two days.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { ReachError } from '@reach/protocol';
import { S3_BUCKET, S3_KEY, type S3Process, startS3 } from '../../test/helpers/s3-process.ts';
import { openDatabase } from '../db/database.ts';
import { type ExchangeRow, ExchangeStore } from '../db/exchange-store.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { createLogger } from '../log/logger.ts';
import { ExchangeCatalog } from './exchange-catalog.ts';
import { EXCHANGE_TTL_MS } from './exchange-service.ts';
import { S3ObjectStore } from './s3-object-store.ts';

const HOUR = 3_600_000;

describe('ExchangeCatalog against a local S3 server', () => {
  let work: string;
  let s3: S3Process;
  let bucket: S3ObjectStore;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'reach-exchange-catalog-'));
    s3 = await startS3(join(work, 's3'));
    bucket = new S3ObjectStore({
      endpoint: s3.endpoint,
      region: 'auto',
      bucket: S3_BUCKET,
      ...S3_KEY,
      forcePathStyle: true,
    });
  });
  after(async () => {
    bucket.close();
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  });

  const put = async (store: ExchangeStore, source: string, createdAt: number): Promise<ExchangeRow> => {
    const id = randomUUID();
    const key = `transfers/${source}/${id}/f.bin`;
    await bucket.put(key, Readable.from([Buffer.from('x')]), 1, { sha256: 'ab', source_client: source });
    const row: ExchangeRow = {
      transfer_id: id,
      object_key: key,
      source_client: source,
      dest_client: null,
      dest_path: null,
      filename: 'f.bin',
      size: 1,
      sha256: 'ab',
      state: 'stored',
      error: null,
      created_at: createdAt,
      expires_at: createdAt + EXCHANGE_TTL_MS,
      delivered_at: null,
    };
    store.insert(row);
    return row;
  };

  test('objects past 48 h are deleted and marked expired; younger ones stay', async () => {
    const store = new ExchangeStore(openDatabase(':memory:', MIGRATIONS));
    let now = Date.now();
    const catalog = new ExchangeCatalog({
      bucket: () => bucket,
      exchanges: store,
      log: createLogger('silent'),
      now: () => now,
    });
    const old = await put(store, 'server', now);
    // Not recorded by this server at all: swept by the bucket's LastModified.
    const stray = `transfers/other/${randomUUID()}/g.bin`;
    await bucket.put(stray, Readable.from([Buffer.from('y')]), 1, { sha256: 'cd' });
    now += 47 * HOUR;
    const young = await put(store, 'server', now);
    assert.equal(await catalog.sweep(), 0, 'nothing is 48 h old yet');
    now += 2 * HOUR;
    assert.equal(await catalog.sweep(), 2);
    assert.equal(await bucket.head(old.object_key), undefined);
    assert.equal(await bucket.head(stray), undefined);
    assert.ok(await bucket.head(young.object_key), 'a 2 h old object stays');
    assert.equal(store.get(old.transfer_id)?.state, 'expired');
    const listed = await catalog.list(undefined);
    assert.deepEqual(
      listed.transfers.map((t) => t.transfer_id),
      [young.transfer_id],
    );
  });

  test('list filters by client; delete needs the right source client', async () => {
    const store = new ExchangeStore(openDatabase(':memory:', MIGRATIONS));
    const catalog = new ExchangeCatalog({
      bucket: () => bucket,
      exchanges: store,
      log: createLogger('silent'),
    });
    const a = await put(store, 'client-a', Date.now());
    const b = await put(store, 'client-b', Date.now());
    const onlyA = await catalog.list('client-a');
    assert.ok(onlyA.transfers.some((t) => t.transfer_id === a.transfer_id));
    assert.ok(!onlyA.transfers.some((t) => t.transfer_id === b.transfer_id));
    await assert.rejects(
      catalog.delete(a.transfer_id, 'client-b'),
      (e: ReachError) => e.code === 'FILE_NOT_FOUND',
    );
    assert.ok(await bucket.head(a.object_key), 'the wrong source deletes nothing');
    assert.deepEqual(await catalog.delete(a.transfer_id, 'client-a'), { key: a.object_key, deleted: true });
    assert.equal(await bucket.head(a.object_key), undefined);
  });
});
