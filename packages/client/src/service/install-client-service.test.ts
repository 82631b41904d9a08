import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { realSystemOps, type SystemOps } from '@reach/protocol/node';
import { main } from '../main.ts';
import { renderClientUnit, windowsTaskArgs } from './client-unit.ts';
import { clientUnitPath, installClientService, uninstallClientService } from './install-client-service.ts';

function recordingOps(over: Partial<SystemOps> = {}): SystemOps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    isRoot: over.isRoot ?? (() => false),
    portFree: async () => true,
    run: async (cmd, args) => {
      calls.push([cmd, ...args].join(' '));
      return over.run ? over.run(cmd, args) : { code: 0, stdout: '', stderr: '' };
    },
  };
}

function verify(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'reach-unit-'));
  writeFileSync(join(dir, name), text);
  const r = spawnSync('systemd-analyze', ['verify', `./${name}`], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout + r.stderr;
}

const command = [process.execPath, '/opt/reach/bin.js'];

describe('client service units', () => {
  test('user and system units pass systemd-analyze verify and restart forever', () => {
    const user = renderClientUnit({ command, configDir: '/home/me/.reach', scope: 'user' });
    assert.doesNotMatch(verify('reach.service', user), /Unknown (key|section)|Invalid/i);
    assert.match(user, /^Restart=always$/m);
    assert.match(user, /^StartLimitIntervalSec=0$/m);
    assert.match(user, /^WantedBy=default\.target$/m);
    assert.match(user, /^ExecStart=\S+ \/opt\/reach\/bin\.js --config \/home\/me\/\.reach$/m);
    assert.doesNotMatch(user, /^User=/m);
    const system = renderClientUnit({ command, configDir: '/home/me/.reach', scope: 'system', user: 'me' });
    assert.doesNotMatch(verify('reach.service', system), /Unknown (key|section)|Invalid/i);
    assert.match(system, /^User=me$/m);
    assert.match(system, /^WantedBy=multi-user\.target$/m);
  });

  test('Windows: a logon task through schtasks with an argument vector', () => {
    assert.deepEqual(
      windowsTaskArgs({
        command: ['C:\\Program Files\\Reach\\reach.exe'],
        configDir: 'C:\\Users\\me\\.reach',
        taskName: 'Reach',
      }),
      [
        '/Create',
        '/TN',
        'Reach',
        '/SC',
        'ONLOGON',
        '/RL',
        'LIMITED',
        '/F',
        '/TR',
        '"C:\\Program Files\\Reach\\reach.exe" --config C:\\Users\\me\\.reach',
      ],
    );
  });
});

describe('reach --install-service', () => {
  const base = (home: string) => ({
    scope: 'user' as const,
    start: true,
    configDir: join(home, '.reach'),
    command,
    homedir: home,
    env: { USER: 'me' },
    platform: 'linux' as const,
  });

  test('user unit under ~/.config/systemd/user, enabled and started, with the linger hint; uninstall removes it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'reach-home-'));
    const ops = recordingOps();
    const out: string[] = [];
    await installClientService(base(home), { ops, out: (l) => out.push(l) });
    const path = join(home, '.config/systemd/user/reach.service');
    assert.equal(clientUnitPath(base(home)), path);
    assert.match(readFileSync(path, 'utf8'), /--config \S+\.reach$/m);
    assert.deepEqual(ops.calls, [
      'systemctl --user daemon-reload',
      'systemctl --user enable --now reach.service',
      'loginctl show-user me --property=Linger',
    ]);
    assert.ok(out.some((l) => l.includes('loginctl enable-linger me')));
    await assert.rejects(installClientService(base(home), { ops, out: () => {} }), /already exists/);

    await uninstallClientService(base(home), { ops, out: () => {} });
    assert.throws(() => statSync(path));
    assert.ok(ops.calls.includes('systemctl --user disable --now reach.service'));
    await rm(home, { recursive: true, force: true });
  });

  test('no user systemd (this machine): the unit is removed again and the message says why', async () => {
    const home = mkdtempSync(join(tmpdir(), 'reach-home-'));
    // The real systemctl: with no systemd running it cannot reach the user manager.
    const real = spawnSync('systemctl', ['--user', 'daemon-reload']);
    if (real.status === 0) return;
    await assert.rejects(
      installClientService(base(home), { ops: realSystemOps, out: () => {} }),
      (e: Error & { code?: string }) =>
        e.code === 'COMMAND_FAILED' && /was removed again/.test(e.message) && /--no-start/.test(e.message),
    );
    assert.throws(() => statSync(join(home, '.config/systemd/user/reach.service')));
    await rm(home, { recursive: true, force: true });
  });

  test('--no-start writes the unit and prints how to enable it; a system unit needs root', async () => {
    const home = mkdtempSync(join(tmpdir(), 'reach-home-'));
    const ops = recordingOps();
    const out: string[] = [];
    await installClientService({ ...base(home), start: false }, { ops, out: (l) => out.push(l) });
    assert.ok(
      out.includes(
        'enable and start it: systemctl --user daemon-reload && systemctl --user enable --now reach',
      ),
    );
    assert.ok(!ops.calls.some((c) => c.startsWith('systemctl')));
    await assert.rejects(
      installClientService({ ...base(home), scope: 'system' }, { ops, out: () => {} }),
      (e: Error & { code?: string }) => e.code === 'PERMISSION_DENIED',
    );
    const root = join(home, 'root');
    // A staging root needs no privileges and runs only `systemctl --root` (real: it works offline).
    await installClientService(
      { ...base(home), scope: 'system', env: { SUDO_USER: 'alice' }, root },
      { ops: realSystemOps, out: () => {} },
    );
    assert.match(readFileSync(join(root, 'etc/systemd/system/reach.service'), 'utf8'), /^User=alice$/m);
    assert.ok(
      lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/reach.service')).isSymbolicLink(),
    );
    await uninstallClientService(
      { ...base(home), scope: 'system', root },
      { ops: realSystemOps, out: () => {} },
    );
    assert.throws(() => statSync(join(root, 'etc/systemd/system/reach.service')));
    await rm(home, { recursive: true, force: true });
  });

  test('Windows: schtasks create and run; uninstall deletes the task', async () => {
    const ops = recordingOps();
    await installClientService({ ...base('C:\\Users\\me'), platform: 'win32' }, { ops, out: () => {} });
    assert.match(ops.calls[0] ?? '', /^schtasks \/Create \/TN Reach \/SC ONLOGON/);
    assert.equal(ops.calls[1], 'schtasks /Run /TN Reach');
    await uninstallClientService({ ...base('C:\\Users\\me'), platform: 'win32' }, { ops, out: () => {} });
    assert.equal(ops.calls[2], 'schtasks /Delete /TN Reach /F');
  });

  test('the CLI: --user with --system is a usage error in one line', async () => {
    const home = mkdtempSync(join(tmpdir(), 'reach-home-'));
    const err: string[] = [];
    const code = await main(['--install-service', '--user', '--system'], {
      stdout: () => {},
      stderr: (t) => err.push(t),
      env: {},
      homedir: home,
    });
    assert.equal(code, 1);
    assert.deepEqual(err, ['reach: choose one of --user, --system\n']);
    await rm(home, { recursive: true, force: true });
  });
});
