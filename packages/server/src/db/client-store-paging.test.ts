import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientFilterSql } from './client-filter-sql.ts';
import { type ClientFilter, type ClientRecord, ClientStore, type RegistrationInfo } from './client-store.ts';
import { openDatabase } from './database.ts';
import { MIGRATIONS } from './migrations/index.ts';

const KEY = { public_key: 'ssh-ed25519 AAAA-a', fingerprint: 'SHA256:aaa' };
const uuidOf = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function info(name: string, extra: Partial<RegistrationInfo> = {}): RegistrationInfo {
  return {
    display_name: name,
    purpose: '',
    tags: [],
    capabilities: [],
    connection: {
      client_id: name,
      hostname: `${name}.lan`,
      platform: 'linux',
      username: 'me',
      connected_at: '2026-01-01T00:00:00.000Z',
    },
    ...extra,
  };
}

/** Names with mixed case and repeats, inserted out of order, so ties fall to the uuid. */
function fleet(n: number): ClientStore {
  const store = new ClientStore(openDatabase(':memory:', MIGRATIONS));
  for (let i = 0; i < n; i++) {
    const j = (i * 37) % n;
    store.insert(uuidOf(j), KEY, info(j % 3 === 0 ? `Host-${j % 10}` : `host-${j % 10}`));
  }
  return store;
}

/** Every page of `filter`, `limit` at a time, with `between(pageIndex)` run between pages. */
function pageAll(store: ClientStore, filter: ClientFilter, limit: number, between = (_page: number) => {}) {
  const seen: ClientRecord[] = [];
  for (let page = 0; ; page++) {
    const last = seen.at(-1);
    const rows = store.page(filter, limit, last && { display_name: last.display_name, uuid: last.uuid });
    seen.push(...rows);
    if (rows.length < limit) return seen;
    between(page);
  }
}

const byNameThenUuid = (a: ClientRecord, b: ClientRecord): number => {
  const x = a.display_name.toLowerCase();
  const y = b.display_name.toLowerCase();
  return x < y ? -1 : x > y ? 1 : a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
};

describe('client store paging', () => {
  test('pages in (name without case, uuid) order: every client once, same order as one sort', () => {
    const store = fleet(53);
    const paged = pageAll(store, {}, 7);
    assert.equal(paged.length, 53);
    assert.equal(new Set(paged.map((c) => c.uuid)).size, 53, 'no client twice');
    assert.deepEqual(
      paged.map((c) => c.uuid),
      [...paged].sort(byNameThenUuid).map((c) => c.uuid),
    );
    assert.deepEqual(
      pageAll(store, {}, 7).map((c) => c.uuid),
      paged.map((c) => c.uuid),
      'stable from one walk to the next',
    );
  });

  test('rows inserted between pages: none of the others repeated or skipped', () => {
    const store = fleet(40);
    const before = pageAll(store, {}, 1000).map((c) => c.uuid);
    let next = 1000;
    // Two new clients per page, one sorting before every name and one after, then one in the
    // middle of the names already listed or still to come.
    const paged = pageAll(store, {}, 6, () => {
      for (const name of ['aaa', 'zzz', 'host-5']) store.insert(uuidOf(next++), KEY, info(name));
    });
    const uuids = paged.map((c) => c.uuid);
    assert.equal(new Set(uuids).size, uuids.length, 'no client twice');
    for (const u of before) assert.ok(uuids.includes(u), `${u} not skipped`);
    assert.deepEqual(
      paged.map((c) => c.uuid),
      [...paged].sort(byNameThenUuid).map((c) => c.uuid),
      'still in order',
    );
    assert.ok(
      uuids.some((u) => Number(u.slice(-12)) >= 1000),
      'clients added behind the cursor are listed',
    );
  });

  test('the online set: online, offline and both partition the fleet; counts agree', () => {
    const store = fleet(30);
    const online = [3, 4, 17, 29].map(uuidOf);
    for (const u of online) store.setOnline(u, true);
    store.setOnline(uuidOf(4), false);
    store.setOnline(uuidOf(3), true);
    const expected = [uuidOf(3), uuidOf(17), uuidOf(29)].sort();
    assert.deepEqual(
      pageAll(store, { online: true }, 2)
        .map((c) => c.uuid)
        .sort(),
      expected,
    );
    const offline = pageAll(store, { online: false }, 4).map((c) => c.uuid);
    assert.equal(offline.length, 27);
    assert.ok(!offline.some((u) => expected.includes(u)));
    assert.deepEqual(store.countMatching({ online: true }), { total: 3, online: 3 });
    assert.deepEqual(store.countMatching({ online: false }), { total: 27, online: 0 });
    assert.deepEqual(store.countMatching({}), { total: 30, online: 3 });
  });

  test('filters in SQL: tags and capabilities all-of, query and purpose substrings, any case', () => {
    const store = new ClientStore(openDatabase(':memory:', MIGRATIONS));
    store.insert(
      uuidOf(1),
      KEY,
      info('gpu-1', { purpose: 'Training', tags: ['Lab', 'GPU'], capabilities: ['git'] }),
    );
    store.insert(
      uuidOf(2),
      KEY,
      info('nas', { purpose: 'Storage', tags: ['lab'], capabilities: ['git', 'docker'] }),
    );
    store.insert(uuidOf(3), KEY, info('web', { purpose: 'Frontend', tags: ['prod'] }));
    const names = (f: ClientFilter): string[] => store.page(f, 100).map((c) => c.display_name);
    assert.deepEqual(names({ tags: ['LAB'] }), ['gpu-1', 'nas']);
    assert.deepEqual(names({ tags: ['lab', 'gpu'] }), ['gpu-1'], 'all of the tags');
    assert.deepEqual(names({ tags: ['la'] }), [], 'a tag matches whole');
    assert.deepEqual(names({ capabilities: ['DOCKER', 'git'] }), ['nas']);
    assert.deepEqual(names({ purpose: 'stor' }), ['nas']);
    assert.deepEqual(names({ query: 'PRO' }), ['web'], 'query matches part of a tag');
    assert.deepEqual(names({ query: 'nas.lan' }), ['nas'], 'query matches the hostname');
    assert.deepEqual(names({ query: 'train' }), ['gpu-1'], 'query matches the purpose');
    assert.deepEqual(names({ query: '%' }), [], 'no wildcards');
    store.setOnline(uuidOf(2), true);
    assert.deepEqual(store.countMatching({ tags: ['lab'] }), { total: 2, online: 1 });
  });

  test('a page deep in the fleet is a range search of the paging index, not a scan', () => {
    const db = openDatabase(':memory:', MIGRATIONS);
    const { where, params } = clientFilterSql({}, { display_name: 'm', uuid: '' });
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT * FROM clients WHERE ${where} ORDER BY display_name COLLATE NOCASE, uuid LIMIT 10`,
      )
      .all(...params)
      .map((r) => String(r.detail));
    assert.ok(
      plan.some((d) => d.startsWith('SEARCH clients USING INDEX clients_name_uuid')),
      plan.join('; '),
    );
    assert.ok(!plan.some((d) => d.includes('TEMP B-TREE')), `no sort: ${plan.join('; ')}`);
  });

  test('batched last_seen: one call writes many; an older time never overwrites a newer one', () => {
    const store = fleet(3);
    store.touchLastSeenMany([
      [uuidOf(0), '2026-03-01T00:00:00.000Z'],
      [uuidOf(1), '2026-03-02T00:00:00.000Z'],
    ]);
    store.touchLastSeenMany([[uuidOf(0), '2026-02-01T00:00:00.000Z']]);
    assert.equal(store.get(uuidOf(0))?.last_seen, '2026-03-01T00:00:00.000Z');
    assert.equal(store.get(uuidOf(1))?.last_seen, '2026-03-02T00:00:00.000Z');
  });
});
