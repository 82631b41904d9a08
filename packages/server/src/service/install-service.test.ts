import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { realSystemOps, type SystemOps } from '@reach/protocol/node';
import { SERVER_ENV_NAMES } from '../config/server-config.ts';
import { installServerService, uninstallServerService } from './install-service.ts';
import { renderServerEnvTemplate } from './server-env-template.ts';
import { renderReceiverUnit, renderServerUnit } from './server-unit.ts';

const REPO = join(import.meta.dirname, '../../../..');

/** systemd-analyze's view of a unit: verify's complaints and the offline exposure score. */
function analyze(name: string, text: string): { verify: string; exposure: number; security: string } {
  const dir = mkdtempSync(join(tmpdir(), 'reach-unit-'));
  writeFileSync(join(dir, name), text);
  const verify = spawnSync('systemd-analyze', ['verify', `./${name}`], { cwd: dir, encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  const security = spawnSync('systemd-analyze', ['security', '--offline=true', `./${name}`], {
    cwd: dir,
    encoding: 'utf8',
  });
  const m = /Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout);
  assert.ok(m, security.stdout + security.stderr);
  return { verify: verify.stdout + verify.stderr, exposure: Number(m[1]), security: security.stdout };
}

const command = [process.execPath, join(REPO, 'packages/server/src/bin.ts')];

describe('reach-mcp.service', () => {
  test('passes systemd-analyze verify with no unknown keys, and its exposure is low', (t) => {
    const unit = renderServerUnit({
      command,
      user: 'reach',
      dataDir: '/var/lib/reach-server',
      envFile: '/etc/reach/server.env',
      sshPort: 2222,
      httpPort: 8765,
    });
    const a = analyze('reach-mcp.service', unit);
    assert.doesNotMatch(a.verify, /Unknown (key|section)|Invalid|Failed to parse/i);
    t.diagnostic(`systemd-analyze security exposure, ports 2222/8765: ${a.exposure}`);
    assert.ok(a.exposure <= 2.0, `exposure ${a.exposure}`);
    assert.match(unit, /^CapabilityBoundingSet=$/m, 'no capability at all above port 1024');
    assert.match(unit, /^PrivateUsers=yes$/m);
    assert.match(unit, /^ExecStart=.* --transport http --data-dir \/var\/lib\/reach-server$/m);
  });

  test('below port 1024 keeps CAP_NET_BIND_SERVICE and nothing else', (t) => {
    const unit = renderServerUnit({
      command,
      user: 'reach',
      dataDir: '/var/lib/reach-server',
      envFile: '/etc/reach/server.env',
      sshPort: 443,
    });
    const a = analyze('reach-mcp.service', unit);
    t.diagnostic(`systemd-analyze security exposure, SSH on 443: ${a.exposure}`);
    assert.ok(a.exposure <= 2.5, `exposure ${a.exposure}`);
    assert.match(unit, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    assert.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    assert.doesNotMatch(unit, /PrivateUsers/, 'a capability in a user namespace binds nothing on the host');
  });

  test('the webhook receiver unit verifies too', () => {
    const unit = renderReceiverUnit({
      command,
      user: 'reach',
      logFile: '/var/lib/reach-server/webhook-receiver.jsonl',
      port: 9090,
      envFile: '/etc/reach/server.env',
    });
    const a = analyze('reach-webhook-receiver.service', unit);
    assert.doesNotMatch(a.verify, /Unknown (key|section)|Invalid/i);
    assert.match(
      unit,
      /webhook-test-receiver --port 9090 --log \/var\/lib\/reach-server\/webhook-receiver\.jsonl/,
    );
  });

  test('deploy/server.env.example is the template, and lists every variable the server reads', () => {
    const example = readFileSync(join(REPO, 'deploy/server.env.example'), 'utf8');
    assert.equal(example, renderServerEnvTemplate(''), 'deploy/server.env.example is stale: npm run docs');
    for (const name of SERVER_ENV_NAMES) {
      assert.match(example, new RegExp(`^#?${name}=`, 'm'), `${name} missing from deploy/server.env.example`);
    }
    for (const [, name] of example.matchAll(/^#?(REACH_\w+)=/gm)) {
      assert.ok(
        SERVER_ENV_NAMES.includes(name as string),
        `${name} is listed but the server does not read it`,
      );
    }
  });
});

/** Runs nothing for real but what is given; records every command. */
function recordingOps(over: Partial<SystemOps> = {}): SystemOps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    isRoot: over.isRoot ?? (() => true),
    portFree: over.portFree ?? (async () => true),
    run: async (cmd, args) => {
      calls.push([cmd, ...args].join(' '));
      return over.run ? over.run(cmd, args) : { code: 0, stdout: '', stderr: '' };
    },
  };
}

function base(root: string) {
  return {
    root,
    command,
    user: 'reach',
    dataDir: '/var/lib/reach-server',
    envFile: '/etc/reach/server.env',
    start: true,
    force: false,
  };
}

describe('reach-server install-service into a root', () => {
  test('writes the unit, an owner-only env file with a fresh key, the data dir, and enables it offline', async () => {
    const root = mkdtempSync(join(tmpdir(), 'reach-root-'));
    const lines: string[] = [];
    // The real systemctl: --root works without a running systemd.
    await installServerService(
      { ...base(root), receiverPort: 9090 },
      { ops: realSystemOps, out: (l) => lines.push(l) },
    );
    const unit = readFileSync(join(root, 'etc/systemd/system/reach-mcp.service'), 'utf8');
    assert.match(unit, /^User=reach$/m);
    assert.equal(statSync(join(root, 'etc/systemd/system/reach-mcp.service')).mode & 0o777, 0o644);
    const env = readFileSync(join(root, 'etc/reach/server.env'), 'utf8');
    assert.match(env, /^REACH_API_KEY=[0-9a-f]{64}$/m);
    assert.equal(statSync(join(root, 'etc/reach/server.env')).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'var/lib/reach-server')).mode & 0o777, 0o700);
    assert.equal(
      readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/reach-mcp.service')),
      '/etc/systemd/system/reach-mcp.service',
    );
    assert.ok(lines.some((l) => l.includes('REACH_API_KEY')));
    assert.ok(
      lines.every((l) => !/[0-9a-f]{64}/.test(l)),
      'the key itself is never printed',
    );

    const out: string[] = [];
    await uninstallServerService(
      { root, envFile: '/etc/reach/server.env', dataDir: '/var/lib/reach-server', purge: false },
      { ops: realSystemOps, out: (l) => out.push(l) },
    );
    assert.throws(() => statSync(join(root, 'etc/systemd/system/reach-mcp.service')));
    assert.throws(() => statSync(join(root, 'etc/systemd/system/multi-user.target.wants/reach-mcp.service')));
    assert.ok(statSync(join(root, 'etc/reach/server.env')).isFile(), 'settings kept without --purge');
    await rm(root, { recursive: true, force: true });
  });

  test('refusals leave nothing behind: not root, unit present, a secret readable by others, a port in use', async () => {
    const notRoot = recordingOps({ isRoot: () => false });
    await assert.rejects(
      installServerService(base('/'), { ops: notRoot, out: () => {} }),
      (e: Error & { code?: string }) => e.code === 'PERMISSION_DENIED' && /sudo/.test(e.message),
    );
    assert.deepEqual(notRoot.calls, []);

    const root = mkdtempSync(join(tmpdir(), 'reach-root-'));
    await mkdir(join(root, 'etc/systemd/system'), { recursive: true });
    await writeFile(join(root, 'etc/systemd/system/reach-mcp.service'), '# mine\n');
    await assert.rejects(
      installServerService(base(root), { ops: recordingOps(), out: () => {} }),
      /already exists: pass --force/,
    );
    assert.equal(readFileSync(join(root, 'etc/systemd/system/reach-mcp.service'), 'utf8'), '# mine\n');
    await rm(join(root, 'etc/systemd/system/reach-mcp.service'));

    await mkdir(join(root, 'etc/reach'), { recursive: true });
    await writeFile(join(root, 'etc/reach/server.env'), 'REACH_API_KEY=abc\n', { mode: 0o644 });
    await assert.rejects(
      installServerService(base(root), { ops: recordingOps(), out: () => {} }),
      /holds REACH_API_KEY but is readable by others \(mode 644\): chmod 600/,
    );
    await writeFile(join(root, 'etc/reach/server.env'), 'REACH_SSH_PORT=2299\n', { mode: 0o644 });
    const busy = recordingOps({ portFree: async (_h, p) => p !== 2299 });
    await assert.rejects(
      installServerService({ ...base(root), checkPorts: true }, { ops: busy, out: () => {} }),
      /port 2299 on 0\.0\.0\.0 is in use: stop what holds it or set REACH_SSH_PORT in/,
    );
    assert.deepEqual(busy.calls, [], 'nothing ran');
    assert.throws(() => statSync(join(root, 'etc/systemd/system/reach-mcp.service')));
    assert.throws(() => statSync(join(root, 'var/lib/reach-server')));
    await rm(root, { recursive: true, force: true });
  });

  test('a step that fails undoes the earlier ones', async () => {
    const root = mkdtempSync(join(tmpdir(), 'reach-root-'));
    const failing = recordingOps({
      run: async (cmd) =>
        cmd === 'systemctl' ? { code: 1, stdout: '', stderr: 'boom' } : { code: 0, stdout: '', stderr: '' },
    });
    await assert.rejects(
      installServerService(base(root), { ops: failing, out: () => {} }),
      /systemctl .* failed \(1\): boom/,
    );
    assert.throws(() => statSync(join(root, 'etc/systemd/system/reach-mcp.service')));
    assert.throws(() => statSync(join(root, 'etc/reach/server.env')));
    assert.throws(() => statSync(join(root, 'var/lib/reach-server')));
    await rm(root, { recursive: true, force: true });
  });

  test('the real port check sees a listener', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    assert.equal(await realSystemOps.portFree('127.0.0.1', port), false);
    server.close();
    assert.equal(await realSystemOps.portFree('127.0.0.1', port), true);
  });

  test('the CLI prints one line and exits non-zero on a refusal', () => {
    const root = mkdtempSync(join(tmpdir(), 'reach-root-'));
    writeFileSync(join(root, 'x'), '');
    const r = spawnSync(
      process.execPath,
      [join(REPO, 'packages/server/src/bin.ts'), 'install-service', '--root', root, '--data-dir', 'relative'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'reach-server install-service: --data-dir must be an absolute path\n');
    execFileSync('rm', ['-rf', root]);
  });
});
