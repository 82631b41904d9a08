/**
 * The installed unit's ExecStart line run as written: as the unit's User, with its EnvironmentFile
 * and Environment, then talked to over HTTP and stopped with the unit's KillSignal. systemd itself
 * is not PID 1 on this machine, so `systemctl` is the one command recorded instead of run; useradd,
 * chown, setpriv and the port checks are real (root only).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { realSystemOps, type SystemOps } from '@reach/protocol/node';
import { freePort } from '../../../test-support/openssh.ts';
import { stopChild } from '../../../test-support/stop-child.ts';
import { parseEnvFile } from '../src/service/env-file.ts';
import { installServerService, uninstallServerService } from '../src/service/install-service.ts';

const REPO = join(import.meta.dirname, '../../..');
const USER = 'reach';

function unitValues(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1] ?? '');
}

/** systemd's command-line splitting for what renderUnit writes: words, double quotes, \\ escapes, %% and $$. */
function splitExec(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const raw = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '');
    words.push(raw.replaceAll('%%', '%').replaceAll('$$', '$'));
  }
  return words;
}

const canRun =
  process.getuid?.() === 0 &&
  spawnSync('setpriv', ['--version']).status === 0 &&
  spawnSync('useradd', ['--help']).status === 0 &&
  !/^\/(root|home)\//.test(REPO);

describe('reach-mcp.service ExecStart, run as written', {
  skip: !canRun && 'needs root, setpriv, useradd and a checkout outside /root and /home',
}, () => {
  const createdUser = spawnSync('getent', ['passwd', USER]).status !== 0;
  let child: ChildProcess | undefined;
  const dir = mkdtempSync('/tmp/reach-svc-');
  chmodSync(dir, 0o755);
  after(async () => {
    if (child) await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    if (createdUser) spawnSync('userdel', [USER]);
  });

  test('as the service user, with the env file: /health answers, /mcp wants the key, SIGTERM stops it cleanly', async () => {
    const [httpPort, sshPort] = [await freePort(), await freePort()];
    const envFile = join(dir, 'server.env');
    writeFileSync(
      envFile,
      `REACH_API_KEY=test-key-0123456789\nREACH_PORT=${httpPort}\nREACH_SSH_HOST=127.0.0.1\nREACH_SSH_PORT=${sshPort}\n`,
      { mode: 0o600 },
    );
    const systemctl: string[] = [];
    const ops: SystemOps = {
      ...realSystemOps,
      run: async (cmd, args) => {
        if (cmd !== 'systemctl') return realSystemOps.run(cmd, args);
        systemctl.push(args.join(' '));
        return { code: 0, stdout: '', stderr: '' };
      },
    };
    const dataDir = join(dir, 'data');
    const unitDir = join(dir, 'units');
    const lines: string[] = [];
    await installServerService(
      {
        root: '/',
        command: [process.execPath, join(REPO, 'packages/server/src/bin.ts')],
        user: USER,
        dataDir,
        envFile,
        unitDir,
        start: true,
        force: false,
      },
      { ops, out: (l) => lines.push(l) },
    );
    assert.deepEqual(systemctl, ['daemon-reload', 'enable --now reach-mcp.service']);
    const uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout.trim());
    assert.equal(statSync(dataDir).uid, uid, 'the data dir belongs to the service user');

    const unit = readFileSync(join(unitDir, 'reach-mcp.service'), 'utf8');
    const [user] = unitValues(unit, 'User');
    const [envPath] = unitValues(unit, 'EnvironmentFile');
    const [exec] = unitValues(unit, 'ExecStart');
    assert.equal(user, USER);
    assert.equal(envPath, envFile);
    const env: Record<string, string> = {
      PATH: '/usr/bin:/bin',
      ...parseEnvFile(readFileSync(envFile, 'utf8')),
    };
    for (const assignment of unitValues(unit, 'Environment')) {
      const [k, ...v] = assignment.replace(/^"|"$/g, '').split('=');
      env[k as string] = v.join('=');
    }
    child = spawn(
      'setpriv',
      [`--reuid=${user}`, `--regid=${user}`, '--init-groups', '--', ...splitExec(exec ?? '')],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    const base = `http://127.0.0.1:${httpPort}`;
    const deadline = Date.now() + 20_000;
    let health: Response | undefined;
    while (Date.now() < deadline) {
      health = await fetch(`${base}/health`).catch(() => undefined);
      if (health?.ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(health?.status, 200, stderr);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s`, 'm'), 'runs as the service user');
    assert.equal((await fetch(`${base}/mcp`, { method: 'POST' })).status, 401);
    assert.ok(
      statSync(join(dataDir, 'ssh_host_ed25519_key')).uid === uid,
      'host key made by the service user',
    );

    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    child = undefined;

    await uninstallServerService(
      { root: '/', envFile, dataDir, purge: false, unitDir },
      { ops, out: () => {} },
    );
    assert.throws(() => statSync(join(unitDir, 'reach-mcp.service')));
    assert.deepEqual(systemctl.slice(2), ['disable --now reach-mcp.service', 'daemon-reload']);
  });
});
