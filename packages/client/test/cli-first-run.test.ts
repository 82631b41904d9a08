/**
 * A new user's first run of `reach` against a real reach-server process: a key the server does not
 * know yet (the fix is printed once, with the fingerprint and the exact `reach-server authorize`
 * line, while the client keeps retrying), then `--list-clients` (lines, not JSON logs; one
 * known_hosts entry whether the server is named `127.0.0.1` or `localhost`).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/main.ts';
import { publicKeyFingerprint } from '../src/tunnel/keys.ts';
import { type ServerProcess, startServerProcess } from './helpers/server-process.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

async function waitFor(check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('reach first run against a real server', () => {
  let root = '';
  let server: ServerProcess | undefined;
  let env: Record<string, string | undefined> = {};

  const reach = async (argv: string[], signal?: AbortSignal, onStderr?: (all: string) => void) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      env,
      signal,
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
        onStderr?.(stderr);
      },
    });
    return { code, stdout, stderr };
  };

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-first-run-')));
    server = await startServerProcess(join(root, 'server'), 'first-run-api-key-0123456789');
    env = {
      REACH_HOME: join(root, 'client'),
      PATH: process.env.PATH,
      REACH_SERVER_HOST: '127.0.0.1',
      REACH_SERVER_PORT: String(server.sshPort),
      // Retries every 20–50 ms, so the test sees several refusals quickly.
      REACH_RECONNECT_DELAY: '0.02',
      REACH_MAX_RECONNECT_DELAY: '0.05',
      REACH_LOG_LEVEL: 'info',
    };
    assert.equal((await reach(['--init'])).code, 0);
    assert.equal((await reach(['--generate-key'])).code, 0);
  });

  after(async () => {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  test('an unauthorized key: fingerprint and the exact authorize line printed once, retries go on', async () => {
    const publicKey = (await readFile(join(root, 'client', 'id_ed25519.pub'), 'utf8')).trim();
    const refusals = (text: string) =>
      text.split('\n').filter((l) => l.includes('"code":"SSH_AUTH_FAILED"')).length;
    // The agent as a real process: its JSON logs and its printed lines share one stderr.
    const agent = spawn(process.execPath, [join(REPO, 'packages/client/src/bin.ts')], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    agent.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
    try {
      await waitFor(() => refusals(stderr) >= 4 || agent.exitCode !== null);
    } finally {
      agent.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    assert.ok(refusals(stderr) >= 4, stderr);
    const hints = stderr.split('\n').filter((l) => l.includes('reach-server authorize'));
    assert.equal(hints.length, 1, stderr);
    assert.equal(hints[0]?.trim(), `reach-server authorize '${publicKey}'`);
    assert.ok(stderr.includes(publicKeyFingerprint(publicKey)), 'the fingerprint is named');
    assert.equal(stderr.split('\n').filter((l) => l.startsWith('reach: retrying')).length, 1);

    // The printed line is the fix: run it (as the shell would) and the key is accepted.
    const key = /'(.*)'/.exec(hints[0] ?? '')?.[1] ?? '';
    const auth = spawnSync(
      process.execPath,
      [join(REPO, 'packages/server/src/bin.ts'), '--data-dir', join(root, 'server'), 'authorize', key],
      { encoding: 'utf8' },
    );
    assert.equal(auth.status, 0, auth.stderr);
    assert.match(
      auth.stdout,
      new RegExp(`authorized ${publicKeyFingerprint(publicKey).replace(/[+/]/g, '\\$&')}`),
    );
  });

  test('--list-clients prints no JSON log line and pins one known_hosts entry for 127.0.0.1 and localhost', async () => {
    const knownHosts = join(root, 'client', 'known_hosts');
    // The agent above pinned the key already: start from no pin, as a first --list-clients would.
    await rm(knownHosts);
    const byAddress = await reach(['--list-clients', '-s', '127.0.0.1']);
    assert.equal(byAddress.code, 0, byAddress.stderr);
    assert.match(byAddress.stdout, /\d+ online, \d+ known/);
    assert.doesNotMatch(byAddress.stderr, /^\{/m, 'no JSON log line');
    assert.match(byAddress.stderr, /^reach: permanently added \[127\.0\.0\.1\]:\d+ \(SHA256:/m);
    assert.equal((await readFile(knownHosts, 'utf8')).trim().split('\n').length, 1);

    const byName = await reach(['--list-clients', '-s', 'localhost']);
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(byName.stderr, '', 'the pin under 127.0.0.1 is the same server: nothing to say');
    assert.equal((await readFile(knownHosts, 'utf8')).trim().split('\n').length, 1, 'no second entry');
  });
});
