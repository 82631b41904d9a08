import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClientStore, type RegistrationInfo } from './client-store.ts';
import { migrate, openDatabase } from './database.ts';
import { MIGRATIONS } from './migrations/index.ts';

const UUID = '4a8c2a56-3f1e-4c1a-9d1e-0c6d3b8e9f01';
const KEY_A = { public_key: 'ssh-ed25519 AAAA-a', fingerprint: 'SHA256:aaa' };
const KEY_B = { public_key: 'ssh-ed25519 AAAA-b', fingerprint: 'SHA256:bbb' };

function info(overrides: Partial<RegistrationInfo> = {}, at = '2026-01-01T00:00:00.000Z'): RegistrationInfo {
  return {
    display_name: 'laptop',
    purpose: 'dev',
    tags: ['a'],
    capabilities: ['git'],
    connection: {
      client_id: 'laptop-1',
      hostname: 'laptop',
      platform: 'linux',
      username: 'me',
      connected_at: at,
    },
    ...overrides,
  };
}

describe('client store', () => {
  test('migrations run once and are recorded', () => {
    const db = openDatabase(':memory:', MIGRATIONS);
    assert.deepEqual(migrate(db, MIGRATIONS), []);
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    assert.ok(versions.length >= 1);
    assert.equal(Number(versions[0]?.version), 1);
  });

  test('insert, then reconnects update connection info but never operator-set fields', () => {
    const store = new ClientStore(openDatabase(':memory:', MIGRATIONS));
    const first = store.insert(UUID, KEY_A, info());
    assert.equal(first.connection_count, 1);
    assert.equal(first.fingerprint, 'SHA256:aaa');
    assert.deepEqual(first.allowed_paths, []);

    store.update(UUID, { display_name: 'Build box', tags: ['prod'], allowed_paths: ['/srv'] });
    store.configure(UUID, {
      webhook_url: 'https://x.example/h',
      rate_limit_rpm: 10,
      rate_limit_concurrent: 2,
    });
    const again = store.recordConnection(
      UUID,
      info(
        { display_name: 'renamed-by-client', purpose: 'new purpose', capabilities: ['git', 'docker'] },
        '2026-02-01T00:00:00.000Z',
      ),
    );
    assert.equal(again.display_name, 'Build box');
    assert.deepEqual(again.tags, ['prod']);
    assert.equal(again.purpose, 'new purpose', 'not operator-set: follows the client');
    assert.deepEqual(again.capabilities, ['git', 'docker']);
    assert.deepEqual(again.allowed_paths, ['/srv']);
    assert.equal(again.webhook_url, 'https://x.example/h');
    assert.equal(again.rate_limit_rpm, 10);
    assert.equal(again.rate_limit_concurrent, 2);
    assert.equal(again.connection_count, 2);
    assert.equal(again.last_connection?.connected_at, '2026-02-01T00:00:00.000Z');
    assert.equal(again.first_seen, '2026-01-01T00:00:00.000Z');

    const cleared = store.update(UUID, { display_name: null, allowed_paths: null });
    assert.equal(cleared.display_name, '');
    assert.deepEqual(cleared.allowed_paths, []);
    assert.equal(store.recordConnection(UUID, info()).display_name, 'laptop', 'unlocked again');
  });

  test('lookup by uuid, client_id and display name, case-insensitive', () => {
    const store = new ClientStore(openDatabase(':memory:', MIGRATIONS));
    store.insert(UUID, KEY_A, info());
    assert.equal(store.findByRef(UUID.toUpperCase())?.uuid, UUID);
    assert.equal(store.findByRef('LAPTOP-1')?.uuid, UUID);
    assert.equal(store.findByRef('Laptop')?.uuid, UUID);
    assert.equal(store.findByRef('nobody'), undefined);
  });

  test('key mismatch keeps the trusted key until accepted; accept moves it to previous', () => {
    const store = new ClientStore(openDatabase(':memory:', MIGRATIONS));
    store.insert(UUID, KEY_A, info());
    const flagged = store.recordKeyMismatch(UUID, KEY_B);
    assert.equal(flagged.key_mismatch, true);
    assert.equal(flagged.fingerprint, 'SHA256:aaa');
    assert.equal(flagged.pending_fingerprint, 'SHA256:bbb');
    assert.equal(store.findByPendingFingerprint('SHA256:bbb').length, 1);
    const accepted = store.acceptKey(UUID);
    assert.equal(accepted.key_mismatch, false);
    assert.equal(accepted.fingerprint, 'SHA256:bbb');
    assert.equal(accepted.public_key, KEY_B.public_key);
    assert.equal(accepted.previous_fingerprint, 'SHA256:aaa');
    assert.equal(accepted.pending_fingerprint, null);
    assert.equal(
      store.acceptKey(UUID).fingerprint,
      'SHA256:bbb',
      'accept without a pending key changes nothing',
    );
  });

  test('operations on an unknown uuid throw CLIENT_NOT_FOUND', () => {
    const store = new ClientStore(openDatabase(':memory:', MIGRATIONS));
    assert.throws(() => store.update(UUID, { purpose: 'x' }), { code: 'CLIENT_NOT_FOUND' });
  });

  test('closeMatches names at most the limit, by substring or shared prefix, never the fleet', () => {
    const store = new ClientStore(openDatabase(':memory:', MIGRATIONS));
    for (let i = 0; i < 40; i++) {
      const uuid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      store.insert(uuid, KEY_A, info({ display_name: i < 20 ? `web-${i}` : `db-${i}` }));
    }
    const web = store.closeMatches('WEB-1', 5);
    assert.equal(web.length, 5);
    assert.ok(web.every((m) => m.display_name.startsWith('web-')));
    assert.deepEqual(
      store.closeMatches('db-3x', 5).map((m) => m.display_name),
      ['db-20', 'db-21', 'db-22', 'db-23', 'db-24'],
    );
    assert.deepEqual(store.closeMatches('zzz', 5), []);
    assert.deepEqual(store.closeMatches('%%%', 5), [], 'LIKE wildcards in the ref match literally');
  });
});
