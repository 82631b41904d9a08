import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadServerConfig } from './server-config.ts';

test('defaults', () => {
  const { config, positionals } = loadServerConfig([], {});
  assert.equal(config.transport, 'stdio');
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8765);
  assert.equal(config.sshHost, '0.0.0.0');
  assert.equal(config.sshPort, 2222);
  assert.equal(config.dataDir, join(homedir(), '.reach-server'));
  assert.equal(config.heartbeatIntervalS, 30);
  assert.deepEqual(positionals, []);
});

test('environment overrides defaults, flags override environment', () => {
  const env = { REACH_SSH_PORT: '2200', REACH_SERVER_HOME: '/env/dir', REACH_API_KEY: 'from-env' };
  const { config } = loadServerConfig(['--ssh-port', '0', 'authorize', 'x'], env);
  assert.equal(config.sshPort, 0);
  assert.equal(config.dataDir, '/env/dir');
  assert.equal(config.apiKey, 'from-env');
  const { positionals } = loadServerConfig(['authorize', 'key text'], env);
  assert.deepEqual(positionals, ['authorize', 'key text']);
});

test('ETPHONEHOME_* are read as deprecated aliases; REACH_* wins', () => {
  const legacy = loadServerConfig([], { ETPHONEHOME_LOG_LEVEL: 'debug' });
  assert.equal(legacy.config.logLevel, 'debug');
  assert.match(legacy.warnings.join('\n'), /ETPHONEHOME_LOG_LEVEL is deprecated; use REACH_LOG_LEVEL/);
  const both = loadServerConfig([], { ETPHONEHOME_SSH_PORT: '1', REACH_SSH_PORT: '2' });
  assert.equal(both.config.sshPort, 2);
});

test('bad values and unknown flags are INVALID_ARGUMENT naming the flag', () => {
  assert.throws(() => loadServerConfig(['--ssh-port', '70000'], {}), /invalid --ssh-port/);
  assert.throws(() => loadServerConfig(['--transport', 'carrier-pigeon'], {}), /invalid --transport/);
  assert.throws(() => loadServerConfig(['--nope', '1'], {}), { code: 'INVALID_ARGUMENT' });
});

test('--max-result-bytes: 256 KiB by default, from env or flag, 1 KiB to 8 MiB', () => {
  assert.equal(loadServerConfig([], {}).config.maxResultBytes, 256 * 1024);
  assert.equal(loadServerConfig([], { REACH_MAX_RESULT_BYTES: '65536' }).config.maxResultBytes, 65_536);
  assert.equal(loadServerConfig(['--max-result-bytes', '4096'], {}).config.maxResultBytes, 4096);
  assert.throws(() => loadServerConfig(['--max-result-bytes', '100'], {}), /invalid --max-result-bytes/);
  assert.throws(() => loadServerConfig(['--max-result-bytes', String(9 * 1024 * 1024)], {}), {
    code: 'INVALID_ARGUMENT',
  });
});
