/**
 * deploy/ansible: the playbook parses, and both roles run for real against localhost (-c local)
 * into a staging root, twice (the second run changes nothing); then the server and the client the
 * roles installed are started from their units' ExecStart lines (re-rooted) and the client
 * connects to the server.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from '../../../test-support/openssh.ts';
import { stopChild } from '../../../test-support/stop-child.ts';
import { parseEnvFile } from '../src/service/env-file.ts';

const REPO = join(import.meta.dirname, '../../..');
const ANSIBLE = join(REPO, 'deploy/ansible');
const hasAnsible = spawnSync('sh', ['-c', 'command -v ansible-playbook']).status === 0;

function playbook(args: readonly string[]): { code: number; out: string } {
  const r = spawnSync('ansible-playbook', [...args], {
    cwd: ANSIBLE,
    encoding: 'utf8',
    env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_STDOUT_CALLBACK: 'default' },
    timeout: 300_000,
  });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

/** A unit's ExecStart words with the staging root put back in front of its paths. */
function reRooted(root: string, unitFile: string): string[] {
  const exec = /^ExecStart=(.*)$/m.exec(readFileSync(join(root, unitFile), 'utf8'))?.[1] ?? '';
  const words = exec.split(' ');
  return words.map((w, i) =>
    i === 0 || words[i - 1] === '--data-dir' || words[i - 1] === '--config' ? join(root, w) : w,
  );
}

describe('deploy/ansible', { skip: !hasAnsible && 'ansible-playbook is not installed' }, () => {
  const children: ChildProcess[] = [];
  const root = mkdtempSync(join(tmpdir(), 'reach-ansible-'));
  after(async () => {
    for (const c of children) await stopChild(c);
    await rm(root, { recursive: true, force: true });
  });

  test('--syntax-check passes', () => {
    const r = playbook(['--syntax-check', '-i', 'inventory.example.ini', 'playbook.yml']);
    assert.equal(r.code, 0, r.out);
  });

  test('both roles into a staging root, idempotent; the installed client connects to the installed server', async () => {
    chmodSync(root, 0o755);
    // The "executables" the roles copy: the repository's own entry points behind one file each.
    const bin = mkdtempSync(join(tmpdir(), 'reach-bin-'));
    for (const [name, entry] of [
      ['reach-server', 'packages/server/src/bin.ts'],
      ['reach', 'packages/client/src/bin.ts'],
    ] as const) {
      writeFileSync(join(bin, name), `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, entry)}" "$@"\n`, {
        mode: 0o755,
      });
    }
    const [sshPort, httpPort] = [await freePort(), await freePort()];
    const inventory = join(bin, 'inventory.ini');
    writeFileSync(
      inventory,
      '[reach_servers]\nlocalhost ansible_connection=local\n[reach_clients]\nlocalhost ansible_connection=local\n',
    );
    const vars = JSON.stringify({
      reach_root: root,
      reach_server_src: join(bin, 'reach-server'),
      reach_client_src: join(bin, 'reach'),
      reach_server_settings: { REACH_SSH_HOST: '127.0.0.1', REACH_SSH_PORT: sshPort, REACH_PORT: httpPort },
      reach_server_host: '127.0.0.1',
      reach_server_port: sshPort,
      reach_client_display_name: 'lab box',
      reach_client_tags: ['ansible', 'lab'],
    });
    const first = playbook(['-i', inventory, 'playbook.yml', '-e', vars]);
    assert.equal(first.code, 0, first.out);
    const second = playbook(['-i', inventory, 'playbook.yml', '-e', vars]);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /localhost\s+: ok=\d+\s+changed=0\s/, 'a second run changes nothing');

    const unit = readFileSync(join(root, 'etc/systemd/system/reach-mcp.service'), 'utf8');
    assert.match(
      unit,
      /^ExecStart=\/usr\/local\/bin\/reach-server --transport http --data-dir \/var\/lib\/reach-server$/m,
    );
    const envText = readFileSync(join(root, 'etc/reach/server.env'), 'utf8');
    assert.match(envText, new RegExp(`^REACH_SSH_PORT=${sshPort}$`, 'm'));
    assert.match(envText, /^REACH_API_KEY=[0-9a-f]{64}$/m);
    assert.match(
      readFileSync(join(root, 'etc/reach-client/config.yaml'), 'utf8'),
      /^display_name: "lab box"$/m,
    );
    assert.match(readFileSync(join(root, 'var/lib/reach-server/authorized_keys'), 'utf8'), /^ssh-ed25519 /m);

    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...parseEnvFile(envText) };
    const [serverBin, ...serverArgs] = reRooted(root, 'etc/systemd/system/reach-mcp.service');
    const server = spawn(serverBin as string, serverArgs, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(server);
    const [clientBin, ...clientArgs] = reRooted(root, 'etc/systemd/system/reach.service');
    assert.deepEqual(clientArgs.slice(-2), ['--config', join(root, 'etc/reach-client')]);
    const client = spawn(clientBin as string, clientArgs, { stdio: 'ignore', env: { PATH: env.PATH } });
    children.push(client);

    const deadline = Date.now() + 30_000;
    let online = 0;
    while (Date.now() < deadline && online !== 1) {
      const r = await fetch(`http://127.0.0.1:${httpPort}/health`).catch(() => undefined);
      if (r?.ok) online = ((await r.json()) as { clients: { online: number } }).clients.online;
      if (online !== 1) await new Promise((res) => setTimeout(res, 250));
    }
    assert.equal(online, 1, 'the client the role installed is online on the server the role installed');
    const listed = spawnSync(
      clientBin as string,
      ['--list-clients', '--json', '--config', join(root, 'etc/reach-client')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(listed.status, 0, listed.stderr);
    const { clients } = JSON.parse(listed.stdout) as {
      clients: Array<{ display_name: string; tags: string[]; online: boolean }>;
    };
    assert.deepEqual(
      clients.map((c) => [c.display_name, c.tags, c.online]),
      [['lab box', ['ansible', 'lab'], true]],
    );
    await rm(bin, { recursive: true, force: true });
  });
});
