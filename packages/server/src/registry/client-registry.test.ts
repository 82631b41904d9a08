import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentConnection } from '../agent/agent-connection.ts';
import type { SshLink } from '../ssh/ssh-server.ts';
import { ClientRegistry, type OnlineClient } from './client-registry.ts';

function fakeClient(uuid: string): OnlineClient & { closeLink(): void; agentClosed(): boolean } {
  const linkListeners: Array<() => void> = [];
  const agentListeners: Array<() => void> = [];
  let linkClosed = false;
  let agentClosed = false;
  const link = {
    id: 1,
    fingerprint: 'SHA256:x',
    publicKey: 'ssh-ed25519 x',
    username: 'reach',
    remoteAddress: '127.0.0.1',
    get closed() {
      return linkClosed;
    },
    openAgentChannel: () => Promise.reject(new Error('unused')),
    close() {
      if (linkClosed) return;
      linkClosed = true;
      for (const l of linkListeners.splice(0)) l();
    },
    onClose: (l: () => void) => linkListeners.push(l),
  } as unknown as SshLink;
  const agent = {
    get closed() {
      return agentClosed;
    },
    close() {
      if (agentClosed) return;
      agentClosed = true;
      for (const l of agentListeners.splice(0)) l();
    },
    onClose: (l: () => void) => agentListeners.push(l),
  } as unknown as AgentConnection;
  return {
    uuid,
    link,
    agent,
    quarantined: false,
    registration: {
      display_name: uuid,
      purpose: '',
      tags: [],
      capabilities: [],
      connection: { client_id: uuid, hostname: 'h', platform: 'linux', username: 'u', connected_at: 'now' },
    },
    closeLink: () => link.close(),
    agentClosed: () => agentClosed,
  };
}

test('add, then removal when the link closes, with events', () => {
  const registry = new ClientRegistry();
  const events: string[] = [];
  registry.on('connected', (c) => events.push(`+${c.uuid}`));
  registry.on('disconnected', (c, reason) => events.push(`-${c.uuid}:${reason}`));
  const a = fakeClient('a');
  registry.add(a);
  assert.equal(registry.get('a'), a);
  a.closeLink();
  assert.equal(registry.get('a'), undefined);
  assert.deepEqual(events, ['+a', '-a:closed']);
});

test('a second connection with the same uuid replaces the first cleanly', () => {
  const registry = new ClientRegistry();
  const events: string[] = [];
  registry.on('connected', () => events.push('connected'));
  registry.on('disconnected', (_c, reason) => events.push(reason));
  const first = fakeClient('a');
  const second = fakeClient('a');
  registry.add(first);
  registry.add(second);
  assert.equal(registry.get('a'), second);
  assert.equal(first.agentClosed(), true);
  assert.equal(first.link.closed, true);
  assert.equal(registry.size, 1);
  assert.deepEqual(events, ['connected', 'replaced', 'connected']);
});

test('a closed link is never registered; closeAll empties the registry', () => {
  const registry = new ClientRegistry();
  const dead = fakeClient('dead');
  dead.closeLink();
  registry.add(dead);
  assert.equal(registry.size, 0);
  registry.add(fakeClient('b'));
  registry.add(fakeClient('c'));
  registry.closeAll();
  assert.equal(registry.size, 0);
});

test('a quarantined connection never replaces a trusted one that is online; a trusted one replaces it', () => {
  const registry = new ClientRegistry();
  const trusted = fakeClient('a');
  assert.equal(registry.add(trusted), true);
  const imposter = fakeClient('a');
  imposter.quarantined = true;
  assert.equal(registry.add(imposter), false);
  assert.equal(registry.get('a'), trusted);
  assert.equal(trusted.link.closed, false, 'the trusted connection is untouched');

  trusted.closeLink();
  const parked = fakeClient('a');
  parked.quarantined = true;
  assert.equal(registry.add(parked), true, 'with no trusted connection online, it is held quarantined');
  const back = fakeClient('a');
  assert.equal(registry.add(back), true);
  assert.equal(registry.get('a'), back);
  assert.equal(parked.link.closed, true);
});
