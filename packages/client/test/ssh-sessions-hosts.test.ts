import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import {
  ensureTestUser,
  freePort,
  generateKeyPair,
  isRoot,
  type SshdHandle,
  startSshd,
} from '../../../test-support/openssh.ts';
import type { SshSessionHandlerDeps } from '../src/ssh-sessions/handlers.ts';
import {
  expectCode,
  type SessionCall,
  type SessionHarness,
  sessionHarness,
  TEST_USER_NAME,
  TEST_USER_PASSWORD,
} from './helpers/ssh-session-harness.ts';

// Jump chains, host key changes and restore after a client restart, against real sshd daemons.

/** Inodes of this process's TCP sockets from `localPort` to `remotePort` on loopback (/proc/net/tcp). */
async function tcpInodes(localPort: number, remotePort: number): Promise<string[]> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const hex = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');
  return table
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hex(localPort)}`) && f[2]?.endsWith(`:${hex(remotePort)}`))
    .map((f) => f[9] ?? '');
}

async function ownSocketInodes(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

describe('ssh sessions: jump hosts, host keys, restore', () => {
  let dir: string;
  let keyFile: string;
  let pub: string;
  let user: string;
  const daemons: SshdHandle[] = [];
  const harnesses: SessionHarness[] = [];

  const makeHarness = (configDir: string, overrides: Partial<SshSessionHandlerDeps> = {}): SessionHarness => {
    const harness = sessionHarness(configDir, pino({ level: 'silent' }), overrides);
    harnesses.push(harness);
    return harness;
  };

  const sshd = async (options: Parameters<typeof startSshd>[0] = {}): Promise<SshdHandle> => {
    const d = await startSshd({ authorizedKeys: [pub], passwordAuthentication: true, ...options });
    daemons.push(d);
    return d;
  };

  /** The SSH_CONNECTION seen by the remote shell: "client_ip client_port server_ip server_port". */
  const sshConnection = async (call: SessionCall, sessionId: string): Promise<string[]> => {
    const r = await call('ssh_session_command', { session_id: sessionId, command: 'echo "$SSH_CONNECTION"' });
    return (r.output as string).split(' ');
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-ssh-hosts-'));
    user = await ensureTestUser(TEST_USER_NAME, TEST_USER_PASSWORD);
    keyFile = join(dir, 'id_ed25519');
    pub = await generateKeyPair(keyFile);
  });

  after(async () => {
    for (const h of harnesses) await h.close();
    for (const d of daemons) await d.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('two-hop jump chain: the target is reached through the jump host', async () => {
    const a = await sshd();
    const b = await sshd();
    const { call } = makeHarness(join(dir, 'chain'));
    // Control: a direct session's TCP connection to B belongs to this process.
    const direct = await call('ssh_session_open', {
      host: '127.0.0.1',
      port: b.port,
      username: user,
      key_file: keyFile,
    });
    const [, directPort] = await sshConnection(call, direct.session_id as string);
    const own = await ownSocketInodes();
    const directInodes = await tcpInodes(Number(directPort), b.port);
    assert.ok(directInodes.length > 0 && directInodes.every((i) => own.has(i)), 'direct socket is ours');

    const opened = await call('ssh_session_open', {
      host: '127.0.0.1',
      port: b.port,
      username: user,
      key_file: keyFile,
      jump_hosts: [{ host: '127.0.0.1', port: a.port, username: user, key_file: keyFile }],
    });
    assert.match(opened.message as string, /1 jump host/);
    const id = opened.session_id as string;
    const [, hopPort, , serverPort] = await sshConnection(call, id);
    assert.equal(Number(serverPort), b.port);
    const ownNow = await ownSocketInodes();
    const chainInodes = await tcpInodes(Number(hopPort), b.port);
    assert.ok(chainInodes.length > 0, 'the TCP connection to B exists');
    assert.ok(
      chainInodes.every((i) => !ownNow.has(i)),
      'the connection to B is held by the jump host sshd, not by this process',
    );
    await call('ssh_session_command', { session_id: id, command: 'cd /tmp; export HOP=b' });
    const state = await call('ssh_session_command', { session_id: id, command: 'echo "$PWD $HOP"' });
    assert.equal(state.output, '/tmp b');
  });

  test('two jump hosts, password on one hop; jump failures are SSH_JUMP_HOST_ERROR', async () => {
    const a = await sshd();
    const b = await sshd();
    const target = await sshd();
    const noForwarding = await sshd({ allowTcpForwarding: false });
    const { call } = makeHarness(join(dir, 'chain2'));
    const keyHop = (d: SshdHandle) => ({
      host: '127.0.0.1',
      port: d.port,
      username: user,
      key_file: keyFile,
    });
    const secondHop = isRoot()
      ? { host: '127.0.0.1', port: b.port, username: user, password: TEST_USER_PASSWORD }
      : keyHop(b);
    const opened = await call('ssh_session_open', {
      ...keyHop(target),
      jump_hosts: [keyHop(a), secondHop],
    });
    const r = await call('ssh_session_command', {
      session_id: opened.session_id,
      command: 'echo via-two-hops',
    });
    assert.equal(r.output, 'via-two-hops');

    const down = await freePort();
    const e1 = await expectCode(
      call('ssh_session_open', { ...keyHop(target), jump_hosts: [{ ...keyHop(a), port: down }] }),
      'SSH_JUMP_HOST_ERROR',
    );
    assert.equal(e1.details?.hop, 0);
    await expectCode(
      call('ssh_session_open', {
        ...keyHop(target),
        jump_hosts: [{ ...keyHop(a), username: 'no-such-user' }],
      }),
      'SSH_JUMP_HOST_ERROR',
    );
    await expectCode(
      call('ssh_session_open', { ...keyHop(target), port: down, jump_hosts: [keyHop(a)] }),
      'SSH_JUMP_HOST_ERROR',
    );
    await expectCode(
      call('ssh_session_open', { ...keyHop(target), jump_hosts: [keyHop(noForwarding)] }),
      'SSH_JUMP_HOST_ERROR',
    );
    // Past the jump host, a target refusing the credentials is the target's failure.
    await expectCode(
      call('ssh_session_open', { ...keyHop(target), username: 'no-such-user', jump_hosts: [keyHop(a)] }),
      'SSH_AUTH_FAILED',
    );
  });

  test('a changed host key is refused until accept_new_host_key', async () => {
    const configDir = join(dir, 'hostkey');
    const { call } = makeHarness(configDir);
    const first = await sshd();
    const params = { host: '127.0.0.1', port: first.port, username: user, key_file: keyFile };
    const s1 = await call('ssh_session_open', params);
    assert.ok((s1.message as string).includes(`recorded new host key of 127.0.0.1:${first.port}`));
    await call('ssh_session_close', { session_id: s1.session_id });
    const knownHosts = join(configDir, 'ssh_known_hosts');
    const base64 = (line: string): string => line.split(' ')[1] ?? '';
    assert.equal(
      (await readFile(knownHosts, 'utf8')).trim(),
      `[127.0.0.1]:${first.port} ssh-ed25519 ${base64(first.hostPublicKey)}`,
    );

    await first.stop();
    const second = await sshd({ port: first.port });
    assert.notEqual(second.hostKeyFingerprint, first.hostKeyFingerprint);
    const err = await expectCode(call('ssh_session_open', params), 'SSH_HOST_KEY_MISMATCH');
    assert.equal(err.details?.known_fingerprint, first.hostKeyFingerprint);
    assert.equal(err.details?.presented_fingerprint, second.hostKeyFingerprint);
    assert.equal((await call('ssh_session_list', {})).count, 0);

    const accepted = await call('ssh_session_open', { ...params, accept_new_host_key: true });
    assert.ok((accepted.message as string).includes(`replaced changed host key of 127.0.0.1:${first.port}`));
    assert.ok((accepted.message as string).includes(second.hostKeyFingerprint));
    const ok = await call('ssh_session_command', {
      session_id: accepted.session_id,
      command: 'echo trusted',
    });
    assert.equal(ok.output, 'trusted');
    assert.equal(
      (await readFile(knownHosts, 'utf8')).trim(),
      `[127.0.0.1]:${first.port} ssh-ed25519 ${base64(second.hostPublicKey)}`,
    );
    // From now on the new key is the known one.
    await call('ssh_session_open', params);
  });

  test('client restart: ssh_session_restore reopens key sessions; password sessions are manual', async () => {
    const configDir = join(dir, 'restore');
    const target = await sshd();
    const jump = await sshd();
    const doomed = await sshd();
    const before = makeHarness(configDir);
    const keyHop = (d: SshdHandle) => ({
      host: '127.0.0.1',
      port: d.port,
      username: user,
      key_file: keyFile,
    });
    const keySession = await before.call('ssh_session_open', keyHop(target));
    const viaJump = await before.call('ssh_session_open', { ...keyHop(target), jump_hosts: [keyHop(jump)] });
    const lost = await before.call('ssh_session_open', keyHop(doomed));
    let passwordSession: Record<string, unknown> | undefined;
    if (isRoot()) {
      passwordSession = await before.call('ssh_session_open', {
        host: '127.0.0.1',
        port: target.port,
        username: user,
        password: TEST_USER_PASSWORD,
      });
    }
    const stored = await readFile(join(configDir, 'ssh_sessions.json'), 'utf8');
    assert.ok(!stored.includes(TEST_USER_PASSWORD));
    await before.close();
    await doomed.stop();

    const afterRestart = makeHarness(configDir);
    assert.equal((await afterRestart.call('ssh_session_list', {})).count, 0);
    const result = (await afterRestart.call('ssh_session_restore', {})) as {
      restored: Array<{ old_session_id: string; new_session_id: string; host: string; username: string }>;
      failed: Array<{ session_id: string; host: string; error: string }>;
      manual_required: Array<{ session_id: string; host: string; reason: string }>;
    };
    assert.deepEqual(
      result.restored.map((r) => r.old_session_id).sort(),
      [keySession.session_id, viaJump.session_id].sort(),
    );
    assert.deepEqual(
      result.failed.map((f) => f.session_id),
      [lost.session_id],
    );
    assert.match(result.failed[0]?.error ?? '', /SSH_CONNECTION_FAILED/);
    assert.deepEqual(
      result.manual_required.map((m) => m.session_id),
      passwordSession ? [passwordSession.session_id] : [],
    );
    for (const r of result.restored) {
      assert.notEqual(r.new_session_id, r.old_session_id);
      const out = await afterRestart.call('ssh_session_command', {
        session_id: r.new_session_id,
        command: 'echo back',
      });
      assert.equal(out.output, 'back');
    }
    assert.equal((await afterRestart.call('ssh_session_list', {})).count, 2);
    // The password session was reported once and forgotten; the failed one is kept for a retry.
    const again = (await afterRestart.call('ssh_session_restore', {})) as typeof result;
    assert.deepEqual(again.restored, []);
    assert.deepEqual(again.manual_required, []);
    assert.deepEqual(
      again.failed.map((f) => f.session_id),
      [lost.session_id],
    );
    await afterRestart.call('ssh_session_close', { session_id: lost.session_id });
    const third = (await afterRestart.call('ssh_session_restore', {})) as typeof result;
    assert.deepEqual(third.failed, []);
  });

  test('a damaged sessions file is SSH_SESSION_RESTORE_ERROR', async () => {
    const configDir = join(dir, 'damaged');
    const first = makeHarness(configDir);
    await first.call('ssh_session_list', {});
    await writeFile(join(configDir, 'ssh_sessions.json'), '{not json');
    const { call } = makeHarness(configDir);
    await expectCode(call('ssh_session_restore', {}), 'SSH_SESSION_RESTORE_ERROR');
  });
});
