/**
 * End to end against a real reach-server process: hostile input on the control subsystem (a 4 GiB
 * length prefix, garbage JSON) and refused authentication from OpenSSH's `ssh` and raw ssh2
 * clients. The server must answer with errors, stay alive, and keep its memory flat.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { encodeFrame, FrameDecoder, LINK } from '@reach/protocol';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../../../test-support/ed25519-key-pair.ts';
import { authorizeKey } from '../src/commands/authorize.ts';
import { REPO, rssKiB, type ServerProc, startServerProcess } from './e2e-harness.ts';
import { tempDir, waitFor } from './link-harness.ts';

const execFileAsync = promisify(execFile);
const SERVER_BIN = join(REPO, 'packages', 'server', 'src', 'bin.ts');

function connect(port: number, cfg: Partial<ssh2.ConnectConfig>): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port, username: 'reach', readyTimeout: 10_000, ...cfg });
  });
}

function control(c: ssh2.Client): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    c.subsys(LINK.controlSubsystem, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

/** Collects decoded frames from a control stream until it closes or `count` arrived. */
function frames(stream: Duplex, count: number): Promise<{ frames: unknown[]; closed: boolean }> {
  return new Promise((resolve) => {
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      resolve({ frames: out, closed });
    };
    stream.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) if (f.ok) out.push(f.value);
      if (out.length >= count) finish(false);
    });
    stream.on('close', () => finish(true));
  });
}

function errorCode(frame: unknown): string | undefined {
  return (frame as { error?: { data?: { code?: string } } }).error?.data?.code;
}

describe('e2e: hostile input and refused authentication (server process)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ServerProc;
  let key: { private: string; public: string };
  let keyFile: string;

  before(async () => {
    dir = await tempDir('reach-e2e-hostile-');
    const dataDir = join(dir.path, 'server');
    server = await startServerProcess(dataDir);
    key = ed25519KeyPair('hostile-test');
    await authorizeKey(dataDir, key.public);
    await writeFile(join(dir.path, 'client'), key.private, { mode: 0o600 });
    const second = ed25519KeyPair('second');
    keyFile = join(dir.path, 'second.pub');
    await writeFile(keyFile, `${second.public}\n`);
  });
  after(async () => {
    await server?.stop();
    await dir?.remove();
  });

  test('host key created 0600; `reach-server authorize` appends a key once', async () => {
    const dataDir = join(dir.path, 'server');
    const st = await stat(join(dataDir, 'ssh_host_ed25519_key'));
    assert.equal(st.mode & 0o777, 0o600);
    const first = await execFileAsync(process.execPath, [
      SERVER_BIN,
      'authorize',
      keyFile,
      '--data-dir',
      dataDir,
    ]);
    assert.match(first.stdout, /^authorized SHA256:/);
    const again = await execFileAsync(process.execPath, [
      SERVER_BIN,
      'authorize',
      key.public,
      '--data-dir',
      dataDir,
    ]);
    assert.match(again.stdout, /already authorized/);
    await assert.rejects(
      execFileAsync(process.execPath, [
        SERVER_BIN,
        'authorize',
        'ssh-ed25519 not-base64!',
        '--data-dir',
        dataDir,
      ]),
      (err: { code: number; stderr: string }) =>
        err.code !== 0 && /^reach-server authorize: /.test(err.stderr),
    );
    const lines = (await readFile(join(dataDir, 'authorized_keys'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
  });

  test('a 4 GiB length prefix is refused before the body, garbage JSON gets an error, memory stays flat', async () => {
    const c = await connect(server.sshPort, { privateKey: key.private });
    try {
      // Warm up, then measure.
      const warm = await control(c);
      const warmReply = frames(warm, 1);
      warm.write(encodeFrame({ jsonrpc: '2.0', id: 1, method: 'list_clients', params: {} }));
      assert.ok('result' in ((await warmReply).frames[0] as object));
      warm.end();
      const before = await rssKiB(server.proc.pid!);

      for (let i = 0; i < 40; i++) {
        const s = await control(c);
        const reply = frames(s, 1);
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(0xffff_ffff, 0);
        s.write(prefix);
        s.write(Buffer.alloc(256 * 1024, 0x41)); // body bytes that must not be buffered
        const { frames: got } = await reply;
        assert.equal(errorCode(got[0]), 'FRAME_TOO_LARGE');
        s.destroy();
      }

      const s = await control(c);
      const all = frames(s, 502);
      const garbage = Buffer.from('{this is not json');
      const head = Buffer.alloc(4);
      head.writeUInt32BE(garbage.length, 0);
      for (let i = 0; i < 500; i++) s.write(Buffer.concat([head, garbage]));
      s.write(encodeFrame({ jsonrpc: '2.0', id: 5, method: 42 }));
      s.write(encodeFrame({ jsonrpc: '2.0', id: 7, method: 'list_clients', params: {} }));
      const got = (await all).frames;
      assert.equal(errorCode(got[0]), 'PARSE_ERROR');
      assert.equal(errorCode(got[500]), 'INVALID_REQUEST');
      assert.ok('result' in (got[501] as object), 'the stream still serves valid requests');
      s.end();

      const afterKiB = await rssKiB(server.proc.pid!);
      assert.ok(afterKiB - before < 40 * 1024, `RSS grew from ${before} KiB to ${afterKiB} KiB`);
    } finally {
      c.end();
    }
    assert.equal(server.proc.exitCode, null, 'server still running');
  });

  test('OpenSSH ssh: an unknown key and password auth are refused; a known key gets no shell', async () => {
    const unknown = ed25519KeyPair();
    const unknownFile = join(dir.path, 'unknown');
    await writeFile(unknownFile, unknown.private, { mode: 0o600 });
    const common = [
      '-p',
      String(server.sshPort),
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'ConnectTimeout=10',
    ];
    const ssh = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const p = spawn('/usr/bin/ssh', [...common, ...args, 'reach@127.0.0.1', 'true'], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        p.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        p.on('close', (code) => resolve({ code, stderr }));
      });

    const byKey = await ssh(['-i', unknownFile]);
    assert.equal(byKey.code, 255);
    assert.match(byKey.stderr, /Permission denied \(publickey\)/);

    const byPassword = await ssh([
      '-o',
      'PreferredAuthentications=password,keyboard-interactive',
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      'NumberOfPasswordPrompts=0',
    ]);
    assert.equal(byPassword.code, 255);
    assert.match(byPassword.stderr, /Permission denied \(publickey\)/);

    const known = await ssh(['-i', join(dir.path, 'client')]);
    assert.notEqual(known.code, 0, 'exec/shell requests are refused');
    assert.equal(server.proc.exitCode, null);
  });

  test('raw ssh2: password and keyboard-interactive attempts are refused and logged', async () => {
    await assert.rejects(
      connect(server.sshPort, {
        password: 'hunter2',
        authHandler: ['password'] as unknown as ssh2.AuthenticationType[],
      }),
      /authentication methods failed/,
    );
    await assert.rejects(
      connect(server.sshPort, {
        tryKeyboard: true,
        authHandler: ['keyboard-interactive'] as unknown as ssh2.AuthenticationType[],
      }),
      /authentication methods failed/,
    );
    // The log line travels through a pipe, the refusal through TCP: wait for the log to catch up.
    const refused = (method: string) =>
      server
        .output()
        .split('\n')
        .some((l) => l.includes('authentication refused') && l.includes(`"method":"${method}"`));
    await waitFor(() => refused('password') && refused('keyboard-interactive'), 10_000, 'refusals logged');
    assert.equal(server.proc.exitCode, null);
  });
});
