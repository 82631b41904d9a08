import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort, isRoot } from '../../../test-support/openssh.ts';
import { PathPolicy } from '../src/agent/path-policy.ts';
import { readAllowedFile } from '../src/agent/read-allowed-file.ts';
import { expectCode, TEST_USER_PASSWORD, useSshdSessionSuite } from './helpers/ssh-session-harness.ts';

// Real OpenSSH sshd on loopback; the client side is called in-process through its agent handlers.

describe('ssh sessions against a real sshd', () => {
  const fx = useSshdSessionSuite('reach-ssh-sessions-');
  const { makeHarness, openKey } = fx;

  test('key auth: open, command with output and exit status, list, close', async () => {
    const { call } = makeHarness();
    const opened = await call('ssh_session_open', {
      host: '127.0.0.1',
      port: fx.sshd.port,
      username: fx.user,
      key_file: fx.keyFile,
    });
    const id = opened.session_id as string;
    assert.equal(opened.host, '127.0.0.1');
    assert.equal(opened.port, fx.sshd.port);
    assert.equal(opened.username, fx.user);
    assert.match(opened.message as string, /connected/);

    const hello = await call('ssh_session_command', { session_id: id, command: 'echo hello; echo world' });
    assert.deepEqual(hello, { session_id: id, output: 'hello\nworld', exit_code: 0 });
    const failed = await call('ssh_session_command', { session_id: id, command: 'ls /nonexistent-dir' });
    assert.equal(failed.exit_code, 2);
    assert.match(failed.output as string, /No such file or directory/);
    const status = await call('ssh_session_command', { session_id: id, command: '(exit 42)' });
    assert.equal(status.exit_code, 42);
    // A trailing comment and a command that prints no newline.
    const raw = await call('ssh_session_command', { session_id: id, command: 'printf "a b" # note' });
    assert.equal(raw.output, 'a b');

    const listed = await call('ssh_session_list', {});
    assert.equal(listed.count, 1);
    assert.equal((listed.sessions as Array<{ session_id: string }>)[0]?.session_id, id);

    const closed = await call('ssh_session_close', { session_id: id });
    assert.equal(closed.closed, true);
    assert.equal((await call('ssh_session_list', {})).count, 0);
    await expectCode(
      call('ssh_session_command', { session_id: id, command: 'true' }),
      'SSH_SESSION_NOT_FOUND',
    );
    await expectCode(call('ssh_session_close', { session_id: id }), 'SSH_SESSION_NOT_FOUND');
  });

  test('password auth; the password never reaches a log or the sessions file', {
    skip: !isRoot(),
  }, async () => {
    const { call, logs, configDir } = makeHarness();
    const opened = await call('ssh_session_open', {
      host: '127.0.0.1',
      port: fx.sshd.port,
      username: fx.user,
      password: TEST_USER_PASSWORD,
    });
    const who = await call('ssh_session_command', { session_id: opened.session_id, command: 'id -un' });
    assert.equal(who.output, fx.user);
    const wrong = await expectCode(
      call('ssh_session_open', {
        host: '127.0.0.1',
        port: fx.sshd.port,
        username: fx.user,
        password: 'wrong-pw',
      }),
      'SSH_AUTH_FAILED',
    );
    assert.ok(!JSON.stringify(wrong.toJSON()).includes('wrong-pw'));
    const stored = await readFile(join(configDir, 'ssh_sessions.json'), 'utf8');
    assert.match(stored, /"auth": "password"/);
    assert.ok(!stored.includes(TEST_USER_PASSWORD));
    assert.ok(logs.length > 0);
    assert.ok(!logs.join('').includes(TEST_USER_PASSWORD));
    assert.ok(!logs.join('').includes('wrong-pw'));
  });

  test('idle sessions expire by the injected clock', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const { call } = makeHarness({ clock: () => now, idleTimeoutMs: 30 * 60_000 });
    const id = await openKey(call);
    const opened = (await call('ssh_session_list', {})).sessions as Array<{ created_at: string }>;
    assert.equal(opened[0]?.created_at, '2030-01-01T00:00:00.000Z');
    now += 20 * 60_000;
    await call('ssh_session_command', { session_id: id, command: 'true' });
    now += 20 * 60_000;
    assert.equal((await call('ssh_session_list', {})).count, 1, 'activity resets the idle clock');
    // A command that runs past the idle limit keeps its session.
    const running = call('ssh_session_command', { session_id: id, command: 'sleep 0.5; echo slow-done' });
    await new Promise((r) => setTimeout(r, 100));
    now += 31 * 60_000;
    assert.equal((await call('ssh_session_list', {})).count, 1, 'a running command is not idle');
    assert.equal((await running).output, 'slow-done');
    now += 31 * 60_000;
    assert.equal((await call('ssh_session_list', {})).count, 0);
    await expectCode(
      call('ssh_session_command', { session_id: id, command: 'true' }),
      'SSH_SESSION_NOT_FOUND',
    );
  });

  test('at most N sessions per client', async () => {
    const { call } = makeHarness({ maxSessions: 2 });
    const first = await openKey(call);
    await openKey(call);
    const err = await expectCode(openKey(call), 'RATE_LIMIT_EXCEEDED');
    assert.equal(err.details?.max_sessions, 2);
    await call('ssh_session_close', { session_id: first });
    await openKey(call);
  });

  test('error codes: key file, path policy, connection, arguments, unknown session', async () => {
    const { call } = makeHarness({
      readAllowedFile: (path, maxBytes) => readAllowedFile(new PathPolicy([fx.dir]), path, maxBytes),
    });
    const base = { host: '127.0.0.1', port: fx.sshd.port, username: fx.user };
    await expectCode(
      call('ssh_session_open', { ...base, key_file: join(fx.dir, 'missing') }),
      'SSH_KEY_NOT_FOUND',
    );
    await expectCode(
      call('ssh_session_open', { ...base, key_file: `${fx.keyFile}.pub` }),
      'SSH_KEY_NOT_FOUND',
    );
    await expectCode(call('ssh_session_open', { ...base, key_file: fx.dir }), 'SSH_KEY_NOT_FOUND');
    await expectCode(call('ssh_session_open', { ...base, key_file: '/denied/id_ed25519' }), 'PATH_DENIED');
    await expectCode(call('ssh_session_open', { ...base, key_file: 'relative/key' }), 'INVALID_ARGUMENT');
    await expectCode(
      call('ssh_session_open', { ...base, key_file: fx.keyFile, password: 'both' }),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      call('ssh_session_open', { ...base, port: await freePort(), key_file: fx.keyFile }),
      'SSH_CONNECTION_FAILED',
    );
    await expectCode(
      call('ssh_session_open', { ...base, username: 'root-nope', key_file: fx.keyFile }),
      'SSH_AUTH_FAILED',
    );
    await expectCode(call('ssh_session_read', { session_id: 'nope' }), 'SSH_SESSION_NOT_FOUND');
    await expectCode(call('ssh_session_send', { session_id: 'nope', text: 'x' }), 'SSH_SESSION_NOT_FOUND');
    // An open whose caller gives up (RPC cancel or deadline) leaves no session behind.
    const abandoned = new AbortController();
    setTimeout(() => abandoned.abort(), 5);
    await expectCode(
      call('ssh_session_open', { ...base, key_file: fx.keyFile }, abandoned.signal),
      'CANCELLED',
    );
    assert.equal((await call('ssh_session_list', {})).count, 0);
    const id = await openKey(call);
    await expectCode(
      call('ssh_session_command', { session_id: id, command: 'true', timeout: 0 }),
      'INVALID_ARGUMENT',
    );
    await expectCode(call('ssh_session_read', { session_id: id, timeout: 31 }), 'INVALID_ARGUMENT');
    // A shell that exits ends its session.
    const bye = await call('ssh_session_command', { session_id: id, command: 'exit 7' });
    assert.equal(bye.exit_code, 7);
    await expectCode(call('ssh_session_send', { session_id: id, text: 'x' }), 'SSH_SESSION_NOT_FOUND');
  });
});
