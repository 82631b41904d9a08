/**
 * The embedded SSH server's algorithm list, judged by outside tools over a real socket: Debian's
 * `ssh-audit` finds nothing to fail or warn about, OpenSSH's `ssh` with its defaults still gets in,
 * and every algorithm OpenSSH knows is accepted exactly when SSH_ALGORITHMS lists it.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { SSH_ALGORITHMS } from '@reach/protocol/node';
import { pino } from 'pino';
import { ed25519KeyPair } from '../../../test-support/ed25519-key-pair.ts';
import { AuthorizedKeys } from '../src/ssh/authorized-keys.ts';
import { SshServer } from '../src/ssh/ssh-server.ts';
import { tempDir } from './link-harness.ts';

const execFileAsync = promisify(execFile);
const silent = pino({ level: 'silent' });

/**
 * ssh-audit 2.5 (Debian bookworm) predates strict key exchange, the Terrapin countermeasure
 * (CVE-2023-48795) that ssh2 always appends to its offer, and calls its marker "unknown"; 3.1 and
 * later list it as info. That one line is no finding; any other [warn] or [fail] is.
 */
const STRICT_KEX_UNKNOWN = /^\(kex\) kex-strict-s-v00@openssh\.com\s+-- \[warn\] unknown algorithm$/;

interface SshRun {
  code: number | null;
  stderr: string;
}

describe('ssh algorithms (ssh-audit and OpenSSH against the embedded server)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: SshServer;
  let keyFile: string;

  before(async () => {
    dir = await tempDir('reach-ssh-algos-');
    const key = ed25519KeyPair('algos');
    keyFile = join(dir.path, 'id_ed25519');
    await writeFile(keyFile, key.private, { mode: 0o600 });
    await writeFile(join(dir.path, 'authorized_keys'), `${key.public}\n`);
    server = new SshServer({
      host: '127.0.0.1',
      port: 0,
      hostKey: ed25519KeyPair().private,
      authorizedKeys: new AuthorizedKeys(join(dir.path, 'authorized_keys'), silent),
      log: silent,
      admission: { start: 64, rate: 30, full: 64, perSource: 64 },
      bannerTimeoutMs: 10_000,
      authTimeoutMs: 10_000,
      onLink: () => {},
      onControl: () => {},
    });
    await server.listen();
  });
  after(async () => {
    await server?.close();
    await dir?.remove();
  });

  /** `ssh -v` with OpenSSH's defaults plus `options`; the server refuses the exec afterwards. */
  function ssh(options: string[]): Promise<SshRun> {
    const args = [
      '-v',
      '-F',
      '/dev/null',
      '-p',
      String(server.port),
      '-i',
      keyFile,
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'ConnectTimeout=10',
      ...options,
      'reach@127.0.0.1',
      'true',
    ];
    return new Promise((resolve) => {
      const p = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-65_536);
      });
      p.on('close', (code) => resolve({ code, stderr }));
    });
  }
  const authenticated = (run: SshRun): boolean => /Authenticated to 127\.0\.0\.1/.test(run.stderr);

  test('ssh-audit reports no [fail] and no [warn]', { timeout: 60_000 }, async () => {
    // Exit status 0/2/3 is good/warn/fail; a finding is judged from the lines, not the status.
    const out = await execFileAsync('ssh-audit', ['-n', '-t', '20', '-p', String(server.port), '127.0.0.1'], {
      timeout: 45_000,
    }).catch((err: { stdout?: string; code?: unknown }) => {
      if (typeof err.stdout !== 'string' || err.stdout === '') {
        throw new Error(
          `ssh-audit did not run (install Debian's ssh-audit; .ci/run does): ${String(err.code)}`,
        );
      }
      return { stdout: err.stdout };
    });
    const lines = out.stdout.split('\n').map((l) => l.trim());
    // The format this test parses: `(kex) <name>  -- [info|warn|fail] <text>` (ssh-audit 2.5).
    assert.ok(
      lines.some((l) => /^\(kex\) curve25519-sha256\s+-- \[info\]/.test(l)),
      `ssh-audit output not in the expected format:\n${out.stdout}`,
    );
    assert.ok(
      lines.some((l) => l === '(gen) compression: disabled'),
      'no compression is offered',
    );
    const findings = lines.filter((l) => /\[(fail|warn)\]/.test(l) && !STRICT_KEX_UNKNOWN.test(l));
    assert.deepEqual(findings, [], `ssh-audit findings:\n${out.stdout}`);
    const unknown = lines.find((l) => l.startsWith('!!! WARNING: unknown algorithm(s) found!'));
    if (unknown) assert.match(unknown, /found!: kex-strict-s-v00@openssh\.com\.\s/);
  });

  test('OpenSSH ssh with its defaults connects and authenticates', { timeout: 30_000 }, async () => {
    const run = await ssh([]);
    assert.ok(authenticated(run), run.stderr);
    assert.match(run.stderr, /kex: algorithm: curve25519-sha256/);
    assert.match(run.stderr, /kex: host key algorithm: ssh-ed25519/);
  });

  test('each algorithm OpenSSH knows is negotiable exactly when SSH_ALGORITHMS offers it', {
    timeout: 120_000,
  }, async () => {
    const lists: Array<{ query: string; option: string; offered: readonly string[] }> = [
      { query: 'kex', option: 'KexAlgorithms', offered: SSH_ALGORITHMS.kex },
      { query: 'cipher', option: 'Ciphers', offered: SSH_ALGORITHMS.cipher },
      { query: 'mac', option: 'MACs', offered: SSH_ALGORITHMS.hmac },
      { query: 'HostKeyAlgorithms', option: 'HostKeyAlgorithms', offered: SSH_ALGORITHMS.serverHostKey },
    ];
    const mismatches: string[] = [];
    for (const { query, option, offered } of lists) {
      const known = (await execFileAsync('ssh', ['-Q', query])).stdout.split('\n').filter(Boolean);
      for (const name of known) {
        // A MAC is only negotiated with a non-AEAD cipher.
        const extra = query === 'mac' ? ['-o', 'Ciphers=aes128-ctr'] : [];
        const run = await ssh([...extra, '-o', `${option}=${name}`]);
        const ok = authenticated(run);
        if (ok !== offered.includes(name))
          mismatches.push(`${option}=${name}: ${ok ? 'accepted' : 'refused'}`);
        if (!ok && !offered.includes(name)) assert.match(run.stderr, /no matching|Unable to negotiate/, name);
      }
    }
    assert.deepEqual(mismatches, []);
  });
});
