import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionStore } from './session-store.ts';

test('a session lives its TTL, is unknown once revoked, and a forged id is never one', () => {
  let now = 1_000_000;
  const store = new SessionStore(60_000, () => now);
  const { id, session } = store.create('key:abc');
  assert.match(id, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  assert.match(session.caller, /^ui:[0-9a-f]{12}$/);
  assert.ok(!session.caller.includes(id.slice(0, 12)), 'the caller names the hash, not the id');
  assert.equal(store.get(id)?.keyId, 'key:abc');
  assert.equal(store.get(`${id}x`), undefined);
  assert.equal(store.get(''), undefined);
  now += 59_999;
  assert.ok(store.get(id));
  now += 1;
  assert.equal(store.get(id), undefined, 'expired');
  const other = store.create('key:abc');
  store.revoke(other.id);
  assert.equal(store.get(other.id), undefined);
});
