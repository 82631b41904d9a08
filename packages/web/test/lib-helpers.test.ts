// The UI's pure helpers, run by node (they import nothing of the browser).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEvent } from '../src/lib/dashboard/activity.ts';
import { relativeTime } from '../src/lib/dashboard/relative-time.ts';
import { joinPath, parentPath } from '../src/lib/files/remote-path.ts';

test('remote paths join and climb on POSIX and Windows clients', () => {
  assert.equal(joinPath('/srv', 'a.txt'), '/srv/a.txt');
  assert.equal(joinPath('/', 'etc'), '/etc');
  assert.equal(joinPath('C:\\Users', 'me'), 'C:\\Users\\me');
  assert.equal(parentPath('/srv/data/'), '/srv');
  assert.equal(parentPath('/srv'), '/');
  assert.equal(parentPath('/'), '/');
  assert.equal(parentPath('C:\\Users\\me'), 'C:\\Users');
  assert.equal(parentPath('C:\\Users'), 'C:\\');
});

test('last seen reads as a short relative time', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(relativeTime(null, now), 'never');
  assert.equal(relativeTime('2026-01-01T11:59:48Z', now), '12 s ago');
  assert.equal(relativeTime('2026-01-01T11:55:00Z', now), '5 min ago');
  assert.equal(relativeTime('2026-01-01T09:00:00Z', now), '3 h ago');
  assert.equal(relativeTime('not a date', now), 'not a date');
});

test('activity lines name the client and what happened', () => {
  const client = { uuid: 'u1', display_name: 'web-1' };
  assert.equal(describeEvent({ type: 'client.connected', at: '', client, data: {} }), 'web-1 connected');
  assert.equal(
    describeEvent({ type: 'client.disconnected', at: '', client, data: { reason: 'link lost' } }),
    'web-1 disconnected (link lost)',
  );
  assert.equal(
    describeEvent({ type: 'command_executed', at: '', client, data: { cmd: 'uptime', exit_code: 0 } }),
    'web-1: uptime → exit 0',
  );
  assert.equal(describeEvent({ type: 'metrics.sample', at: '', data: {} }), 'server: metrics.sample');
});
