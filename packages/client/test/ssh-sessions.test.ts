import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
import { PathPolicy } from '../src/agent/path-policy.ts';
import { readAllowedFile } from '../src/agent/read-allowed-file.ts';
import type { SshSessionHandlerDeps } from '../src/ssh-sessions/handlers.ts';
import {
  expectCode,
  type SessionCall,
  type SessionHarness,
  sessionHarness,
  TEST_USER_NAME,
  TEST_USER_PASSWORD,
} from './helpers/ssh-session-harness.ts';

// Real OpenSSH sshd on loopback; the client side is called in-process through its agent handlers.

interface Harness extends SessionHarness {
  logs: string[];
  configDir: string;
}

describe('ssh sessions against a real sshd', () => {
  let dir: string;
  let sshd: SshdHandle;
  let keyFile: string;
  let user: string;
  const harnesses: Harness[] = [];

  const makeHarness = (overrides: Partial<SshSessionHandlerDeps> = {}): Harness => {
    const logs: string[] = [];
    const configDir = join(dir, `cfg-${harnesses.length}`);
    const log = pino({ level: 'trace' }, { write: (line: string) => logs.push(line) });
    const harness = { ...sessionHarness(configDir, log, overrides), logs, configDir };
    harnesses.push(harness);
    return harness;
  };

  const openKey = async (call: SessionCall): Promise<string> => {
    const opened = await call('ssh_session_open', {
      host: '127.0.0.1',
      port: sshd.port,
      username: user,
      key_file: keyFile,
    });
    return opened.session_id as string;
  };

  const readUntil = async (call: SessionCall, sessionId: string, needle: string): Promise<string> => {
    let seen = '';
    for (let i = 0; i < 100 && !seen.includes(needle); i++) {
      const r = await call('ssh_session_read', { session_id: sessionId, timeout: 0.5 });
      seen += r.stdout as string;
    }
    assert.ok(seen.includes(needle), `never saw ${JSON.stringify(needle)} in ${JSON.stringify(seen)}`);
    return seen;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-ssh-sessions-'));
    user = await ensureTestUser(TEST_USER_NAME, TEST_USER_PASSWORD);
    keyFile = join(dir, 'id_ed25519');
    const pub = await generateKeyPair(keyFile);
    sshd = await startSshd({ authorizedKeys: [pub], passwordAuthentication: true });
  });

  after(async () => {
    for (const h of harnesses) await h.close();
    await sshd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('key auth: open, command with output and exit status, list, close', async () => {
    const { call } = makeHarness();
    const opened = await call('ssh_session_open', {
      host: '127.0.0.1',
      port: sshd.port,
      username: user,
      key_file: keyFile,
    });
    const id = opened.session_id as string;
    assert.equal(opened.host, '127.0.0.1');
    assert.equal(opened.port, sshd.port);
    assert.equal(opened.username, user);
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
      port: sshd.port,
      username: user,
      password: TEST_USER_PASSWORD,
    });
    const who = await call('ssh_session_command', { session_id: opened.session_id, command: 'id -un' });
    assert.equal(who.output, user);
    const wrong = await expectCode(
      call('ssh_session_open', { host: '127.0.0.1', port: sshd.port, username: user, password: 'wrong-pw' }),
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

  test('cd and export persist across commands; styled prompts are stripped', async () => {
    const { call } = makeHarness();
    const id = await openKey(call);
    await call('ssh_session_command', { session_id: id, command: 'cd /tmp' });
    await call('ssh_session_command', { session_id: id, command: 'export REACH_TEST_VAR=kept-value' });
    const pwd = await call('ssh_session_command', { session_id: id, command: 'pwd' });
    assert.equal(pwd.output, '/tmp');
    const v = await call('ssh_session_command', { session_id: id, command: 'echo "$REACH_TEST_VAR"' });
    assert.equal(v.output, 'kept-value');
    // A coloured prompt with a window-title OSC, and coloured command output.
    await call('ssh_session_command', {
      session_id: id,
      command: String.raw`PS1='\[\e]0;title\a\]\[\e[1;32m\]\u@\h\[\e[0m\]:\[\e[34m\]\w\[\e[0m\]\$ '`,
    });
    const coloured = await call('ssh_session_command', {
      session_id: id,
      command: String.raw`printf '\033[31mred\033[0m plain\n'; pwd`,
    });
    assert.equal(coloured.output, 'red plain\n/tmp');
    assert.equal(coloured.exit_code, 0);
    const read = await call('ssh_session_read', { session_id: id, timeout: 0.2 });
    assert.ok(!(read.stdout as string).includes('\u001b'), 'escape sequences stripped from reads');
  });

  test('a shell without line editing (dash): echo and continuation prompts stay out of the output', async () => {
    const { call } = makeHarness();
    const id = await openKey(call);
    await call('ssh_session_send', { session_id: id, text: 'exec dash' });
    const shell = await call('ssh_session_command', { session_id: id, command: 'echo "$0"' });
    assert.equal(shell.output, 'dash');
    const heredoc = await call('ssh_session_command', {
      session_id: id,
      command: 'cat <<EOF\nfirst line\nsecond line\nEOF\nfalse',
    });
    assert.deepEqual(heredoc, { session_id: id, output: 'first line\nsecond line', exit_code: 1 });
  });

  test('a read -p prompt answered with ssh_session_send', async () => {
    const { call } = makeHarness();
    const id = await openKey(call);
    const sent = await call('ssh_session_send', {
      session_id: id,
      // $(echo …) keeps the echoed command line from containing the strings awaited below.
      text: 'read -p "Your $(echo name): " NAME; echo "hello, $(echo "$NAME")!"',
    });
    assert.equal(sent.sent, true);
    assert.ok((sent.bytes_sent as number) > 40);
    await readUntil(call, id, 'Your name: ');
    await call('ssh_session_send', { session_id: id, text: 'world' });
    await readUntil(call, id, 'hello, world!');
  });

  test('a long command is followed with ssh_session_read polling', async () => {
    const { call } = makeHarness();
    const id = await openKey(call);
    await call('ssh_session_send', {
      session_id: id,
      text: 'for i in 1 2 3 4 5; do echo "tick-$i"; sleep 0.2; done; echo "ticks: $((2 + 3))"',
    });
    const seen = await readUntil(call, id, 'ticks: 5\n');
    const ticks = [...seen.matchAll(/^tick-(\d)$/gm)].map((m) => m[1]);
    assert.deepEqual(ticks, ['1', '2', '3', '4', '5']);
    const quiet = await call('ssh_session_read', { session_id: id, timeout: 0.1 });
    assert.equal(quiet.has_more, false);
  });

  test('a command that outlives its timeout is interrupted; the session stays usable', async () => {
    const { call } = makeHarness();
    const id = await openKey(call);
    const err = await expectCode(
      call('ssh_session_command', { session_id: id, command: 'echo started; sleep 30', timeout: 1 }),
      'SSH_COMMAND_TIMEOUT',
    );
    assert.equal(err.details?.partial_output, 'started');
    assert.equal(err.details?.session_id, id);
    const alive = await call('ssh_session_command', { session_id: id, command: 'echo alive' });
    assert.deepEqual(alive, { session_id: id, output: 'alive', exit_code: 0 });
  });

  test('output beyond the buffer cap is dropped and flagged', async () => {
    const { call } = makeHarness({ maxBufferChars: 10_000 });
    const id = await openKey(call);
    const big = await call('ssh_session_command', {
      session_id: id,
      command: "head -c 50000 /dev/zero | tr '\\0' x; echo; echo tail-marker",
    });
    assert.equal(big.truncated, true);
    assert.equal(big.exit_code, 0);
    assert.ok((big.output as string).length <= 10_000);
    assert.ok((big.output as string).endsWith('tail-marker'));
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
      readAllowedFile: (path, maxBytes) => readAllowedFile(new PathPolicy([dir]), path, maxBytes),
    });
    const base = { host: '127.0.0.1', port: sshd.port, username: user };
    await expectCode(
      call('ssh_session_open', { ...base, key_file: join(dir, 'missing') }),
      'SSH_KEY_NOT_FOUND',
    );
    await expectCode(call('ssh_session_open', { ...base, key_file: `${keyFile}.pub` }), 'SSH_KEY_NOT_FOUND');
    await expectCode(call('ssh_session_open', { ...base, key_file: dir }), 'SSH_KEY_NOT_FOUND');
    await expectCode(call('ssh_session_open', { ...base, key_file: '/denied/id_ed25519' }), 'PATH_DENIED');
    await expectCode(call('ssh_session_open', { ...base, key_file: 'relative/key' }), 'INVALID_ARGUMENT');
    await expectCode(
      call('ssh_session_open', { ...base, key_file: keyFile, password: 'both' }),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      call('ssh_session_open', { ...base, port: await freePort(), key_file: keyFile }),
      'SSH_CONNECTION_FAILED',
    );
    await expectCode(
      call('ssh_session_open', { ...base, username: 'root-nope', key_file: keyFile }),
      'SSH_AUTH_FAILED',
    );
    await expectCode(call('ssh_session_read', { session_id: 'nope' }), 'SSH_SESSION_NOT_FOUND');
    await expectCode(call('ssh_session_send', { session_id: 'nope', text: 'x' }), 'SSH_SESSION_NOT_FOUND');
    // An open whose caller gives up (RPC cancel or deadline) leaves no session behind.
    const abandoned = new AbortController();
    setTimeout(() => abandoned.abort(), 5);
    await expectCode(call('ssh_session_open', { ...base, key_file: keyFile }, abandoned.signal), 'CANCELLED');
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
