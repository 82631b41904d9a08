import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { initConfig, loadConfig, resolveConfigDir } from './load-config.ts';

describe('config', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reach-config-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('config dir: flag > REACH_HOME > ETPHONEHOME_HOME > ~/.reach', () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    assert.equal(resolveConfigDir({ env: {}, homedir: '/h' }), '/h/.reach');
    assert.equal(resolveConfigDir({ env: { ETPHONEHOME_HOME: '/legacy' }, homedir: '/h', warn }), '/legacy');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /ETPHONEHOME_HOME \(use REACH_HOME\)/);
    assert.equal(
      resolveConfigDir({ env: { REACH_HOME: '/r', ETPHONEHOME_HOME: '/l' }, homedir: '/h' }),
      '/r',
    );
    assert.equal(resolveConfigDir({ env: { REACH_HOME: '/r' }, configDir: '/flag', homedir: '/h' }), '/flag');
  });

  test('load without a config file tells the user to run --init', async () => {
    const dir = join(root, 'none');
    await assert.rejects(loadConfig({ env: { REACH_HOME: dir } }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'FILE_NOT_FOUND');
      assert.match(err.message, /reach --init/);
      return true;
    });
  });

  test('init writes defaults and a uuid once; init again keeps it', async () => {
    const dir = join(root, 'init');
    const first = await initConfig({ env: { REACH_HOME: dir } });
    assert.equal(first.created, true);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const file = parse(await readFile(first.path, 'utf8'));
    assert.equal(file.uuid, first.uuid);
    assert.equal(file.server_user, 'reach');
    assert.equal(file.reconnect_delay, 5);
    assert.equal(file.max_reconnect_delay, 300);
    assert.deepEqual(file.allowed_paths, []);
    const second = await initConfig({ env: { REACH_HOME: dir } });
    assert.equal(second.created, false);
    assert.equal(second.uuid, first.uuid);
    const loaded = await loadConfig({ env: { REACH_HOME: dir } });
    assert.equal(loaded.config.uuid, first.uuid);
    assert.equal(loaded.keyPath, join(dir, 'id_ed25519'));
  });

  test('defaults < file < environment < flags', async () => {
    const dir = join(root, 'order');
    await initConfig({ env: { REACH_HOME: dir } });
    const path = join(dir, 'config.yaml');
    const doc = parse(await readFile(path, 'utf8'));
    await writeFile(
      path,
      `# mine\nuuid: ${doc.uuid}\nserver_host: file.example\nserver_port: 2000\npurpose: from-file\ntags: [a]\n`,
    );
    const warnings: string[] = [];
    const loaded = await loadConfig({
      env: {
        REACH_HOME: dir,
        REACH_SERVER_PORT: '3000',
        ETPHONEHOME_PURPOSE: 'env-legacy',
        REACH_TAGS: 'x, y',
      },
      flags: { server_port: 4000, server_host: undefined },
      warn: (m) => warnings.push(m),
    });
    assert.equal(loaded.config.server_host, 'file.example');
    assert.equal(loaded.config.server_port, 4000);
    assert.equal(loaded.config.purpose, 'env-legacy');
    assert.deepEqual(loaded.config.tags, ['x', 'y']);
    assert.equal(loaded.config.server_user, 'reach');
    assert.equal(warnings.length, 1);
    const env = await loadConfig({ env: { REACH_HOME: dir, REACH_SERVER_PORT: '3000' } });
    assert.equal(env.config.server_port, 3000);
    assert.match(await readFile(path, 'utf8'), /# mine/);
  });

  test('a config without uuid gets one, written back and kept; comments survive', async () => {
    const dir = join(root, 'nouuid');
    await initConfig({ env: { REACH_HOME: dir } });
    const path = join(dir, 'config.yaml');
    await writeFile(path, '# keep me\nserver_host: h\n');
    const a = await loadConfig({ env: { REACH_HOME: dir } });
    const b = await loadConfig({ env: { REACH_HOME: dir } });
    assert.equal(a.config.uuid, b.config.uuid);
    const text = await readFile(path, 'utf8');
    assert.match(text, /# keep me/);
    assert.match(text, new RegExp(`uuid: ${a.config.uuid}`));
  });

  test('invalid values are refused with the key named', async () => {
    const dir = join(root, 'bad');
    await initConfig({ env: { REACH_HOME: dir } });
    await assert.rejects(loadConfig({ env: { REACH_HOME: dir, REACH_SERVER_PORT: '99999' } }), /server_port/);
    await writeFile(join(dir, 'config.yaml'), 'allowed_paths: [relative/path]\n');
    await assert.rejects(loadConfig({ env: { REACH_HOME: dir } }), /allowed_paths/);
    await writeFile(join(dir, 'config.yaml'), 'server_host: [unclosed\n');
    await assert.rejects(loadConfig({ env: { REACH_HOME: dir } }), { code: 'INVALID_ARGUMENT' });
  });

  test('key_file: relative to the config dir, ~ expanded, absolute kept', async () => {
    const dir = join(root, 'key');
    await initConfig({ env: { REACH_HOME: dir } });
    const k = (key: string) =>
      loadConfig({ env: { REACH_HOME: dir, REACH_KEY_FILE: key }, homedir: '/home/u' });
    assert.equal((await k('keys/k')).keyPath, join(dir, 'keys/k'));
    assert.equal((await k('~/k')).keyPath, '/home/u/k');
    assert.equal((await k('/abs/k')).keyPath, '/abs/k');
  });
});
