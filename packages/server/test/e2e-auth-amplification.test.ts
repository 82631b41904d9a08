/**
 * Unauthenticated amplification against a real reach-server process: a peer may not negotiate
 * compression before authenticating (plain `zlib` once turned 5 KB on the wire into a 2 MB user
 * name), a 20 MB user name is dropped with the connection, and refused attempts with long user
 * names leave log lines, the log file and RSS bounded.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../../../test-support/ed25519-key-pair.ts';
import { PEER_TEXT_MAX } from '../src/log/bounded-text.ts';
import { rssBytes, type ServerProcess, spawnServerProcess } from './helpers/server-process.ts';
import { tempDir } from './link-harness.ts';

const LOG_MAX_BYTES = 64 * 1024;
const LOG_MAX_FILES = 2;

/** Connects and resolves with the error that ended the attempt (there is always one here). */
function attempt(port: number, cfg: Partial<ssh2.ConnectConfig>): Promise<Error> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let settled = false;
    const done = (err: Error): void => {
      if (settled) return;
      settled = true;
      c.end();
      resolve(err);
    };
    c.once('ready', () => done(new Error('authenticated')));
    c.once('error', done);
    c.once('close', () => done(new Error('closed')));
    c.connect({ host: '127.0.0.1', port, readyTimeout: 15_000, hostVerifier: () => true, ...cfg });
  });
}

describe('e2e: unauthenticated log and memory amplification (server process)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ServerProcess;
  let logFile: string;
  const stranger = ed25519KeyPair('not-authorized');

  before(async () => {
    dir = await tempDir('reach-e2e-amplify-');
    logFile = join(dir.path, 'server.log');
    server = await spawnServerProcess(join(dir.path, 'data'), [
      '--log-file',
      logFile,
      '--log-max-bytes',
      String(LOG_MAX_BYTES),
      '--log-max-files',
      String(LOG_MAX_FILES),
    ]);
  });
  after(async () => {
    await server?.stop();
    await dir?.remove();
  });

  test('no compression before auth, a 20 MB user name is dropped, long names are logged cut', {
    timeout: 120_000,
  }, async () => {
    // Warm up (first handshake loads the crypto paths), then measure.
    await attempt(server.sshPort, { username: 'warm', privateKey: stranger.private });
    const rssBefore = await rssBytes(server.pid);

    for (const compress of ['zlib', 'zlib@openssh.com'] as const) {
      const err = await attempt(server.sshPort, {
        username: 'u'.repeat(1000),
        privateKey: stranger.private,
        algorithms: { compress: [compress] },
      });
      assert.match(err.message, /no matching|handshake failed/i, `${compress}: ${err.message}`);
    }

    const rssCompress = await rssBytes(server.pid);
    const huge = await attempt(server.sshPort, {
      username: 'h'.repeat(20 * 1024 * 1024),
      privateKey: stranger.private,
    });
    assert.doesNotMatch(huge.message, /authenticated/);

    const rssHuge = await rssBytes(server.pid);
    const longName = 'n'.repeat(30_000); // fits in one uncompressed packet (ssh2 takes 35,000 bytes)
    const rounds = 40;
    for (let i = 0; i < rounds; i++) {
      const err = await attempt(server.sshPort, { username: longName, privateKey: stranger.private });
      assert.match(err.message, /authentication methods failed/);
    }
    const rssAfter = await rssBytes(server.pid);
    const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
    console.log(
      `RSS MiB: before ${mib(rssBefore)}, after zlib attempts ${mib(rssCompress)}, after a 20 MB user name ` +
        `${mib(rssHuge)}, after ${rounds} 30,000-char user names ${mib(rssAfter)}`,
    );

    const refusals = (text: string): Array<Record<string, unknown>> =>
      text
        .split('\n')
        .filter((l) => l.includes('"authentication refused"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The log is written synchronously before the refusal is sent, so it is complete by now.
    const files = (await readdir(dir.path)).filter((f) => f.startsWith('server.log'));
    assert.ok(files.length <= LOG_MAX_FILES + 1, files.join(', '));
    let logged = 0;
    for (const f of files) {
      const size = (await stat(join(dir.path, f))).size;
      assert.ok(size <= LOG_MAX_BYTES, `${f}: ${size} bytes over the ${LOG_MAX_BYTES}-byte limit`);
      const text = await readFile(join(dir.path, f), 'utf8');
      for (const line of text.split('\n')) assert.ok(line.length < 2048, `a ${line.length}-char log line`);
      for (const r of refusals(text)) {
        logged++;
        assert.equal(r.level, 40, 'refusals are logged at warn');
        assert.ok(String(r.user).length <= PEER_TEXT_MAX + 16, 'the user name is cut');
        assert.match(String(r.fingerprint), /^SHA256:/);
      }
    }
    assert.ok(logged > 0);
    assert.ok(rssAfter - rssBefore < 16 * 1024 * 1024, `RSS grew by ${mib(rssAfter - rssBefore)} MiB`);
    assert.equal(server.child.exitCode, null, 'server still running');
  });
});
