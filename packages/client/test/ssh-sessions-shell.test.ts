import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectCode, type SessionCall, useSshdSessionSuite } from './helpers/ssh-session-harness.ts';

// Commands, prompts, interactive input and output bounds in a session's shell, against a real sshd.

describe('ssh sessions: the shell, against a real sshd', () => {
  const fx = useSshdSessionSuite('reach-ssh-shell-');
  const { makeHarness, openKey } = fx;

  const readUntil = async (call: SessionCall, sessionId: string, needle: string): Promise<string> => {
    let seen = '';
    for (let i = 0; i < 100 && !seen.includes(needle); i++) {
      const r = await call('ssh_session_read', { session_id: sessionId, timeout: 0.5 });
      seen += r.stdout as string;
    }
    assert.ok(seen.includes(needle), `never saw ${JSON.stringify(needle)} in ${JSON.stringify(seen)}`);
    return seen;
  };

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

  test('after a prompt answer, one read returns the line that follows within the settle gap', async () => {
    const { call } = makeHarness();
    const id = await openKey(call);
    // The second line comes 50 ms after the first: past the old read's 25 ms, inside the 250 ms
    // quiet gap. A loaded machine (a CI run beside the release build's qemu and wine) can stretch
    // `sleep 0.05` or the prompt after it past 250 ms now and then, so one of three tries must
    // show both lines in one read that says nothing is still flowing; the old read did in none.
    const reads: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await call('ssh_session_send', {
        session_id: id,
        // $(echo …) keeps the echoed command line from containing the strings awaited below.
        text: `read -p "Pick $(echo t${attempt}): " A; echo "got-$(echo "$A")"; sleep 0.05; echo "next-$(echo "$A")"`,
      });
      await readUntil(call, id, `Pick t${attempt}: `);
      await call('ssh_session_send', { session_id: id, text: `x${attempt}` });
      const r = await call('ssh_session_read', { session_id: id, timeout: 2 });
      const out = r.stdout as string;
      reads.push(`${JSON.stringify(out)} has_more=${r.has_more}`);
      // Both lines, and nothing still flowing when it returned (the prompt after them included).
      const both = new RegExp(`got-x${attempt}\\r?\\n`).test(out) && out.includes(`next-x${attempt}`);
      if (both && r.has_more === false) return;
      if (!out.includes(`next-x${attempt}`)) await readUntil(call, id, `next-x${attempt}`);
      // Whatever is left of this try (its prompt) goes before the next one.
      await call('ssh_session_read', { session_id: id, timeout: 0.5 });
    }
    assert.fail(`no read returned both lines with has_more false: ${reads.join(' | ')}`);
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
});
