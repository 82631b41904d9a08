import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReachError } from '@reach/protocol';
import type { OnwardConnection, OnwardShell } from '../tunnel/onward-connect.ts';
import { ShellSession } from './shell-session.ts';

/** A scripted shell: records what is written, and lets the test play the remote side. */
function fakeShell() {
  const written: string[] = [];
  let onData: (text: string) => void = () => undefined;
  let onClose: (code: number | undefined) => void = () => undefined;
  let closed = false;
  const shell: OnwardShell = {
    write(text) {
      if (closed) throw new ReachError('SSH_SESSION_SEND_ERROR', 'closed');
      written.push(text);
      return Buffer.byteLength(text);
    },
    onData: (l) => {
      onData = l;
    },
    onClose: (l) => {
      onClose = l;
    },
    get closed() {
      return closed;
    },
    close() {
      closed = true;
    },
  };
  const connection: OnwardConnection = {
    openShell: async () => shell,
    onClose: () => undefined,
    close: () => undefined,
  };
  return {
    shell,
    connection,
    written,
    emit: (text: string) => onData(text),
    exit: (code: number | undefined) => {
      closed = true;
      onClose(code);
    },
  };
}

function session(maxBufferChars = 1024 * 1024) {
  const fake = fakeShell();
  const s = new ShellSession({
    info: { id: 's1', host: 'h', port: 22, username: 'u', createdAt: 0 },
    shell: fake.shell,
    connection: fake.connection,
    clock: () => 0,
    maxBufferChars,
  });
  return { s, ...fake };
}

/** The nonce halves of the last command written: `printf '…' <a> <b> "$?"`, joined. */
function nonce(written: string[]): string {
  const m = /printf '\\n%s%s:%s\\n' ([0-9a-f]+) ([0-9a-f]+) "\$\?"/.exec(written.at(-1) ?? '');
  assert.ok(m, 'end marker printf written');
  return `${m[1]}${m[2]}`;
}

describe('ShellSession', () => {
  test('the echoed command line is dropped and the sentinel split across chunks is found', async () => {
    const { s, written, emit } = session();
    const done = s.command('echo hi', 5000);
    await Promise.resolve();
    const n = nonce(written);
    // How readline echoes it: a continuation prompt before the second line.
    const echo = `${written.at(-1)!.trimEnd().replace(/\n/g, '\r\n> ')}\r\n`;
    emit(`prompt$ ${echo}`);
    emit(`${n}:st`);
    emit('art\r\nhi\r\n\r\n');
    emit(n.slice(0, 10));
    emit(`${n.slice(10)}:3`);
    emit('\r\nprompt$ ');
    assert.deepEqual(await done, { output: 'hi', exitCode: 3, truncated: false });
    const after = await s.read(100);
    assert.equal(after.stdout, 'prompt$ ');
  });

  test('continuation prompts printed while the shell reads the command are not output', async () => {
    const { s, written, emit } = session();
    const done = s.command('cat <<EOF\nline\nEOF', 5000);
    await Promise.resolve();
    const n = nonce(written);
    // A shell without line editing: the tty echoes everything at once, then PS2 prompts follow.
    emit(`${written.at(-1)!.replace(/\n/g, '\r\n')}$ > > > ${n}:start\r\nline\r\n\r\n${n}:0\r\n$ `);
    assert.deepEqual(await done, { output: 'line', exitCode: 0, truncated: false });
  });

  test('the echo alone never completes a command', async () => {
    const { s, written, emit } = session();
    const done = s.command('true', 200);
    await Promise.resolve();
    emit(written.at(-1)!.replace(/\n/g, '\r\n'));
    const err = await done.then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ReachError && err.code === 'SSH_COMMAND_TIMEOUT');
    assert.equal(written.at(-1), '\u0003', 'Ctrl-C sent on timeout');
  });

  test('a cancelled call interrupts its command with Ctrl-C', async () => {
    const { s, written } = session();
    const ac = new AbortController();
    const done = s.command('sleep 100', 5000, ac.signal);
    await Promise.resolve();
    ac.abort();
    await assert.rejects(done, (e: unknown) => e instanceof ReachError && e.code === 'CANCELLED');
    assert.equal(written.at(-1), '\u0003');
  });

  test('a read that starts with stale output still waits for the settle gap', async () => {
    const { s, emit } = session();
    emit('stale\r\n');
    const reading = s.read(5000);
    // Arrives after the read started: the old read had already answered with the stale line alone.
    emit('fresh\r\n');
    const r = await reading;
    assert.deepEqual(r, { stdout: 'stale\nfresh\n', hasMore: false, dropped: false });
  });

  test('output still flowing when the timeout ends the read is reported as has_more', async () => {
    const { s, emit } = session();
    const ticker = setInterval(() => emit('tick\r\n'), 5);
    try {
      const r = await s.read(300);
      assert.ok(r.stdout.split('tick').length > 3, 'kept reading while output flowed');
      assert.equal(r.hasMore, true);
    } finally {
      clearInterval(ticker);
    }
  });

  test('unread output past the cap is dropped and flagged once', async () => {
    const { s, emit } = session(1000);
    emit('a'.repeat(800));
    emit('b'.repeat(800));
    const first = await s.read(100);
    assert.equal(first.dropped, true);
    assert.equal(first.stdout.length, 1000);
    assert.ok(first.stdout.endsWith('b'.repeat(800)));
    emit('c');
    const second = await s.read(100);
    assert.deepEqual(second, { stdout: 'c', hasMore: false, dropped: false });
  });

  test('a shell that exits ends a running command with its exit status', async () => {
    const { s, written, emit, exit } = session();
    const done = s.command('exit 4', 5000);
    await Promise.resolve();
    emit(written.at(-1)!.replace(/\n/g, '\r\n'));
    emit(`${nonce(written)}:start\r\nlogout\r\n`);
    exit(4);
    assert.deepEqual(await done, { output: 'logout', exitCode: 4, truncated: false });
    assert.equal(s.closed, true);
    assert.throws(
      () => s.send('x', true),
      (e: unknown) => e instanceof ReachError && e.code === 'SSH_SESSION_SEND_ERROR',
    );
  });

  test('commands queue one behind the other', async () => {
    const { s, written, emit } = session();
    const first = s.command('one', 5000);
    const second = s.command('two', 5000);
    await Promise.resolve();
    assert.equal(written.length, 1);
    emit(`${nonce(written)}:start\r\n\r\n${nonce(written)}:0\r\n`);
    assert.equal((await first).exitCode, 0);
    await new Promise((r) => setImmediate(r));
    assert.equal(written.length, 2);
    emit(`${nonce(written)}:start\r\n\r\n${nonce(written)}:1\r\n`);
    assert.equal((await second).exitCode, 1);
  });
});
