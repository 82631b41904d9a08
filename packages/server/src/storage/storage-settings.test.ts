import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReachError } from '@reach/protocol';
import { loadServerConfig } from '../config/server-config.ts';
import { storageSettings } from './storage-settings.ts';

const settingsOf = (env: Record<string, string>, argv: string[] = []) =>
  storageSettings(loadServerConfig(argv, { REACH_SERVER_HOME: '/tmp/x', ...env }).config);

describe('storageSettings', () => {
  test('nothing set: R2_NOT_CONFIGURED naming every variable to set', () => {
    const e = settingsOf({});
    assert.ok(e instanceof ReachError);
    assert.equal(e.code, 'R2_NOT_CONFIGURED');
    for (const v of ['REACH_S3_ENDPOINT or R2_ACCOUNT_ID', 'R2_BUCKET', 'R2_ACCESS_KEY', 'R2_SECRET_KEY']) {
      assert.ok(e.message.includes(v), `${v} in ${e.message}`);
    }
  });

  test('the reference R2_* variables are read as aliases and make the R2 endpoint', () => {
    const s = settingsOf({
      R2_ACCOUNT_ID: '0123456789abcdef0123456789abcdef',
      R2_ACCESS_KEY: 'ak',
      R2_SECRET_KEY: 'sk',
      R2_BUCKET: 'b',
    });
    assert.ok(!(s instanceof ReachError));
    assert.equal(s.endpoint, 'https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com');
    assert.deepEqual([s.bucket, s.accessKeyId, s.secretAccessKey, s.region], ['b', 'ak', 'sk', 'auto']);
  });

  test('REACH_S3_* win over the aliases; flags over the environment; one missing key is named alone', () => {
    const s = settingsOf(
      {
        REACH_S3_ENDPOINT: 'http://127.0.0.1:9000',
        REACH_S3_BUCKET: 'reach',
        R2_BUCKET: 'other',
        REACH_S3_ACCESS_KEY_ID: 'a',
        REACH_S3_SECRET_ACCESS_KEY: 's',
        REACH_S3_FORCE_PATH_STYLE: 'true',
      },
      ['--s3-region', 'eu-west-1'],
    );
    assert.ok(!(s instanceof ReachError));
    assert.equal(s.bucket, 'reach');
    assert.equal(s.region, 'eu-west-1');
    assert.equal(s.forcePathStyle, true);
    const e = settingsOf({ REACH_S3_ENDPOINT: 'http://127.0.0.1:9000', R2_BUCKET: 'b', R2_ACCESS_KEY: 'a' });
    assert.ok(e instanceof ReachError);
    assert.deepEqual(e.details?.missing, ['REACH_S3_SECRET_ACCESS_KEY or R2_SECRET_KEY']);
    assert.ok(!e.message.includes('a,'), 'no value is echoed');
  });

  test('a secret value never appears in a config error', () => {
    assert.throws(
      () => loadServerConfig([], { REACH_SERVER_HOME: '/tmp/x', R2_ACCOUNT_ID: 'not-hex-secretish' }),
      (err: ReachError) => err.code === 'INVALID_ARGUMENT' && !err.message.includes('not-hex-secretish'),
    );
  });
});
