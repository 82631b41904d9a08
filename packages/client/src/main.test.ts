import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { main } from './main.ts';
import { publicKeyFingerprint } from './tunnel/keys.ts';

/** Runs the CLI in-process with captured output and a given environment. */
async function reach(argv: string[], env: Record<string, string | undefined>) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    env,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

describe('reach CLI', () => {
  let root = '';
  let home = '';
  let env: Record<string, string | undefined> = {};
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reach-cli-'));
    home = join(root, 'home');
    env = { REACH_HOME: home, PATH: process.env.PATH };
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('--help and --version', async () => {
    const h = await reach(['--help'], env);
    assert.equal(h.code, 0);
    for (const flag of [
      '--init',
      '--generate-key',
      '--show-key',
      '--show-uuid',
      '--list-clients',
      '--server',
      '--port',
      '--verbose',
      '--config',
    ]) {
      assert.ok(h.stdout.includes(flag), flag);
    }
    const v = await reach(['--version'], env);
    assert.match(v.stdout, /^reach \d+\.\d+\.\d+ \(node \d+\.\d+\.\d+, ssh crypto: (native|js)\)\n$/);
  });

  test('unknown flags and two actions are usage errors (exit 2)', async () => {
    const u = await reach(['--nope'], env);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /--nope/);
    const two = await reach(['--show-key', '--show-uuid'], env);
    assert.equal(two.code, 2);
  });

  test('before --init: one clear line pointing at --init, non-zero exit', async () => {
    for (const argv of [['--show-uuid'], ['--show-key'], [], ['--list-clients']]) {
      const r = await reach(argv, env);
      assert.equal(r.code, 1, argv.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.match(r.stderr, /reach --init/);
      assert.equal(r.stdout, '');
    }
  });

  test('--init creates the config with a uuid; --show-uuid prints it; a second --init keeps it', async () => {
    const r = await reach(['--init'], env);
    assert.equal(r.code, 0);
    const config = parse(await readFile(join(home, 'config.yaml'), 'utf8'));
    assert.match(config.uuid, /^[0-9a-f-]{36}$/);
    assert.ok(r.stdout.includes(config.uuid));
    const u = await reach(['--show-uuid'], env);
    assert.equal(u.stdout, `${config.uuid}\n`);
    const again = await reach(['--init'], env);
    assert.equal(again.code, 0);
    assert.equal((await reach(['--show-uuid'], env)).stdout, `${config.uuid}\n`);
  });

  test('no key yet: the agent and --show-key say what to run', async () => {
    const r = await reach([], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--generate-key/);
    const k = await reach(['--show-key'], env);
    assert.equal(k.code, 1);
    assert.match(k.stderr, /--generate-key/);
  });

  test('--generate-key writes 0600/0644 files, refuses to overwrite without --force', async () => {
    const g = await reach(['--generate-key'], env);
    assert.equal(g.code, 0, g.stderr);
    const priv = join(home, 'id_ed25519');
    assert.equal((await stat(priv)).mode & 0o777, 0o600);
    assert.equal((await stat(`${priv}.pub`)).mode & 0o777, 0o644);
    const pub = (await readFile(`${priv}.pub`, 'utf8')).trim();
    assert.match(await readFile(priv, 'utf8'), /BEGIN OPENSSH PRIVATE KEY/);
    assert.ok(g.stdout.includes(publicKeyFingerprint(pub)));
    assert.ok(!g.stdout.includes('PRIVATE'), 'never prints the private key');

    const refused = await reach(['--generate-key'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--force/);
    assert.equal((await readFile(`${priv}.pub`, 'utf8')).trim(), pub);

    const show = await reach(['--show-key'], env);
    assert.equal(show.code, 0);
    assert.equal(show.stdout, `${pub}\n`);
    assert.ok(show.stderr.includes(publicKeyFingerprint(pub)));

    const forced = await reach(['--generate-key', '--force'], env);
    assert.equal(forced.code, 0);
    assert.notEqual((await readFile(`${priv}.pub`, 'utf8')).trim(), pub);
  });

  test('--config DIR wins over REACH_HOME; --generate-key before --init creates the config', async () => {
    const dir = join(root, 'other');
    const g = await reach(['--config', dir, '--generate-key'], env);
    assert.equal(g.code, 0, g.stderr);
    await stat(join(dir, 'id_ed25519'));
    const uuid = parse(await readFile(join(dir, 'config.yaml'), 'utf8')).uuid;
    assert.equal((await reach(['--config', dir, '--show-uuid'], env)).stdout, `${uuid}\n`);
  });

  test('invalid config is one line naming the key; legacy env warns', async () => {
    const dir = join(root, 'bad');
    await reach(['--config', dir, '--init'], env);
    const p = await reach(['--config', dir, '--show-uuid', '-p', '70000'], env);
    assert.equal(p.code, 1);
    assert.match(p.stderr, /server_port/);
    const legacy = await reach(['--show-uuid'], { ...env, ETPHONEHOME_SERVER_HOST: 'x' });
    assert.equal(legacy.code, 0);
    assert.match(legacy.stderr, /warning: .*ETPHONEHOME_SERVER_HOST/);
    await writeFile(join(dir, 'config.yaml'), ': : :\n');
    const broken = await reach(['--config', dir, '--show-uuid'], env);
    assert.equal(broken.code, 1);
    assert.equal(broken.stderr.trim().split('\n').length, 1);
  });
});
