import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadRotatedCredentials, saveRotatedCredentials, saveToEnvFile } from './rotated-credentials.ts';

const creds = {
  access_key_id: 'newid',
  secret_access_key: 'newsecret',
  rotated_at: '2026-12-02T10:00:00.000Z',
};

describe('rotated credentials on disk', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-rotated-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the data-dir file is 0600 and reads back; a damaged one is ignored', async () => {
    await saveRotatedCredentials(dir, creds);
    assert.equal((await stat(join(dir, 'r2-credentials.json'))).mode & 0o777, 0o600);
    assert.deepEqual(await loadRotatedCredentials(dir), creds);
    await writeFile(join(dir, 'r2-credentials.json'), '{"access_key_id": 1');
    assert.equal(await loadRotatedCredentials(dir), undefined);
  });

  test('an env file keeps its other lines and its variable names; 0600', async () => {
    const file = join(dir, 'server.env');
    await writeFile(
      file,
      '# reach\nREACH_PORT=8765\nexport R2_ACCESS_KEY=old\nR2_SECRET_KEY=oldsecret\nR2_BUCKET=b\n',
      {
        mode: 0o644,
      },
    );
    await saveToEnvFile(file, creds);
    assert.equal(
      await readFile(file, 'utf8'),
      '# reach\nREACH_PORT=8765\nexport R2_ACCESS_KEY=newid\nR2_SECRET_KEY=newsecret\nR2_BUCKET=b\nREACH_S3_ROTATED_AT=2026-12-02T10:00:00.000Z\n',
    );
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const fresh = join(dir, 'fresh.env');
    await saveToEnvFile(fresh, creds);
    assert.equal(
      await readFile(fresh, 'utf8'),
      'REACH_S3_ACCESS_KEY_ID=newid\nREACH_S3_SECRET_ACCESS_KEY=newsecret\nREACH_S3_ROTATED_AT=2026-12-02T10:00:00.000Z\n',
    );
  });
});
