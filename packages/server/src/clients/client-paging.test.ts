import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AgentConnection } from '../agent/agent-connection.ts';
import { ClientStore, type RegistrationInfo } from '../db/client-store.ts';
import { openDatabase } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { createLogger } from '../log/logger.ts';
import { ClientRegistry, type OnlineClient } from '../registry/client-registry.ts';
import type { SshLink } from '../ssh/ssh-server.ts';
import { ClientCursors } from './client-cursor.ts';
import { type ClientPageRequest, ClientService } from './client-service.ts';

const KEY = { public_key: 'ssh-ed25519 AAAA-a', fingerprint: 'SHA256:aaa' };
const uuidOf = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function info(name: string, tags: string[] = []): RegistrationInfo {
  return {
    display_name: name,
    purpose: '',
    tags,
    capabilities: [],
    connection: {
      client_id: name,
      hostname: 'h',
      platform: 'linux',
      username: 'u',
      connected_at: '2026-01-01T00:00:00.000Z',
    },
  };
}

/** An online connection whose link and agent close when told to (no sockets: paging only). */
function onlineClient(uuid: string): OnlineClient {
  const closers: Array<() => void> = [];
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const l of closers.splice(0)) l();
  };
  const side = {
    get closed() {
      return closed;
    },
    close,
    onClose: (l: () => void) => closers.push(l),
  };
  return {
    uuid,
    link: side as unknown as SshLink,
    agent: side as unknown as AgentConnection,
    quarantined: false,
    registration: info(uuid),
  };
}

/** 25 clients `c-00`…`c-24` (tagged `even`/`odd`), of which 5, 10, 15 and 20 are online. */
function setup(cursors = new ClientCursors()) {
  const store = new ClientStore(openDatabase(':memory:', MIGRATIONS));
  const registry = new ClientRegistry();
  const service = new ClientService({ store, registry, log: createLogger('silent'), cursors });
  const online = new Map<number, OnlineClient>();
  for (let i = 0; i < 25; i++)
    store.insert(uuidOf(i), KEY, info(`c-${String(i).padStart(2, '0')}`, [i % 2 ? 'odd' : 'even']));
  for (const i of [20, 5, 15, 10]) {
    const c = onlineClient(uuidOf(i));
    registry.add(c);
    online.set(i, c);
  }
  return { store, registry, service, online };
}

function walk(service: ClientService, req: Omit<ClientPageRequest, 'cursor'>): string[] {
  const names: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = service.page({ ...req, cursor });
    names.push(...page.clients.map((c) => `${c.online ? '+' : '-'}${c.display_name}`));
    if (page.next_cursor === null) return names;
    cursor = page.next_cursor;
  }
  throw new Error('more than 100 pages');
}

describe('client paging through the service', () => {
  test('online clients first, then the rest, each by name; a page boundary may fall anywhere', () => {
    const { service } = setup();
    const names = walk(service, { limit: 3 });
    assert.equal(names.length, 25);
    assert.deepEqual(names.slice(0, 4), ['+c-05', '+c-10', '+c-15', '+c-20']);
    assert.ok(names.slice(4).every((n) => n.startsWith('-')));
    assert.deepEqual(walk(service, { limit: 25 }), names, 'the same list in one page');
    const first = service.page({ limit: 3 });
    assert.equal(first.total, 25);
    assert.equal(first.online, 4);
    assert.equal(service.page({ limit: 25 }).next_cursor, null, 'no cursor after the last page');
  });

  test('online_only and filters page in SQL with their own counts', () => {
    const { service } = setup();
    assert.deepEqual(walk(service, { limit: 1, online_only: true }), ['+c-05', '+c-10', '+c-15', '+c-20']);
    const odd = service.page({ limit: 2, filter: { tags: ['ODD'] } });
    assert.equal(odd.total, 12);
    assert.equal(odd.online, 2, 'c-05 and c-15');
    assert.deepEqual(walk(service, { limit: 2, filter: { tags: ['odd'] }, online_only: true }), [
      '+c-05',
      '+c-15',
    ]);
  });

  test('a client going offline moves to the offline part; the online set follows the registry', () => {
    const { service, online } = setup();
    online.get(10)?.link.close();
    assert.deepEqual(walk(service, { limit: 10, online_only: true }), ['+c-05', '+c-15', '+c-20']);
    assert.equal(service.page({ limit: 1 }).online, 3);
    assert.ok(walk(service, { limit: 4 }).includes('-c-10'));
  });

  test('a cursor edited, cut, from another query or from another process is INVALID_ARGUMENT', () => {
    const { service } = setup();
    const req = { limit: 3, filter: { tags: ['even'] } };
    const cursor = service.page(req).next_cursor;
    assert.ok(cursor);
    assert.ok(service.page({ ...req, cursor }).clients.length > 0, 'the cursor as issued works');
    assert.ok(service.page({ ...req, filter: { tags: ['EVEN'] }, cursor }), 'tag case does not matter');
    const [payload, tag] = cursor.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ p: 'offline', n: 'c-20', u: uuidOf(20) })).toString(
      'base64url',
    );
    const flip = (s: string, at: number): string =>
      s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
    for (const [what, bad, other] of [
      ['payload edited', `${flip(payload, 3)}.${tag}`, req],
      ['tag edited', `${payload}.${flip(tag, 0)}`, req],
      ['payload forged with the old tag', `${forged}.${tag}`, req],
      ['tag cut off', payload, req],
      ['garbage', '!!!not-a-cursor', req],
      ['another filter', cursor, { limit: 3, filter: { tags: ['odd'] } }],
      ['online_only added', cursor, { ...req, online_only: true }],
    ] as const) {
      assert.throws(() => service.page({ ...other, cursor: bad }), { code: 'INVALID_ARGUMENT' }, what);
    }
    const elsewhere = setup(new ClientCursors()).service;
    assert.throws(() => elsewhere.page({ ...req, cursor }), { code: 'INVALID_ARGUMENT' }, 'another key');
  });

  test('disconnects are written in one batch at close; listings show them before that', () => {
    const { service, store, online } = setup();
    const before = store.get(uuidOf(5))?.last_seen;
    online.get(5)?.link.close();
    const listed = service.page({ limit: 25 }).clients.find((c) => c.uuid === uuidOf(5));
    assert.ok(listed?.last_seen && before && listed.last_seen > before, 'listing shows the waiting time');
    assert.equal(store.get(uuidOf(5))?.last_seen, before, 'not written yet');
    service.close();
    assert.equal(store.get(uuidOf(5))?.last_seen, listed.last_seen);
    assert.ok(
      (store.get(uuidOf(20))?.last_seen ?? '') > (before ?? ''),
      'still-online clients stamped at close',
    );
  });
});
