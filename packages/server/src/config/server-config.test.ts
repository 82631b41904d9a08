import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadServerConfig } from './server-config.ts';
import { SERVER_OPTIONS } from './server-options.ts';

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

test('every row of the option table is reachable: its flag sets it, its variable sets it', () => {
  for (const [key, row] of Object.entries(SERVER_OPTIONS)) {
    // A row added without a sample is still covered by the --help test; samples cover parsing.
    const sample = SAMPLES[key as keyof typeof SERVER_OPTIONS];
    if (sample === undefined) continue;
    if (row.flag !== null) {
      const { config } = loadServerConfig([`--${row.flag}`, sample.text], {});
      assert.deepEqual(config[key as keyof typeof config], sample.value, `--${row.flag}`);
    }
    if (row.env !== null) {
      const { config } = loadServerConfig([], { [`REACH_${row.env}`]: sample.text });
      assert.deepEqual(config[key as keyof typeof config], sample.value, `REACH_${row.env}`);
    }
  }
  // The secret has no flag: it would show in `ps`.
  assert.equal(SERVER_OPTIONS.webhookSecret.flag, null);
});

test('path options expand ~/ to the home directory', () => {
  const { config } = loadServerConfig(
    ['--data-dir', '~/srv', '--log-file', '~/log.json'],
    {},
    { homedir: '/h' },
  );
  assert.equal(config.dataDir, '/h/srv');
  assert.equal(config.logFile, '/h/log.json');
  assert.equal(loadServerConfig([], {}, { homedir: '/h' }).config.dataDir, '/h/.reach-server');
});

/** A value each option accepts, as text and as parsed. */
const SAMPLES = {
  transport: { text: 'http', value: 'http' },
  host: { text: '127.0.0.2', value: '127.0.0.2' },
  port: { text: '1234', value: 1234 },
  apiKey: { text: 'key', value: 'key' },
  allowedHosts: { text: 'a.example, b.example', value: ['a.example', 'b.example'] },
  sshHost: { text: '127.0.0.3', value: '127.0.0.3' },
  sshPort: { text: '2200', value: 2200 },
  maxUnauthenticated: { text: '7', value: 7 },
  authTimeoutS: { text: '5', value: 5 },
  heartbeatIntervalS: { text: '11', value: 11 },
  heartbeatTimeoutS: { text: '4', value: 4 },
  heartbeatMaxFailures: { text: '9', value: 9 },
  heartbeatGraceS: { text: '0', value: 0 },
  rateLimitMode: { text: 'enforce', value: 'enforce' },
  rateLimitRpm: { text: '120', value: 120 },
  rateLimitConcurrent: { text: '3', value: 3 },
  transferRoots: { text: '/a,/b', value: ['/a', '/b'] },
  dataDir: { text: '/data', value: '/data' },
  auditRetentionDays: { text: '7', value: 7 },
  webhookUrl: { text: 'http://127.0.0.1:9/h', value: 'http://127.0.0.1:9/h' },
  webhookSecret: { text: 's3cret', value: 's3cret' },
  webhookTimeoutS: { text: '2', value: 2 },
  webhookMaxRetries: { text: '0', value: 0 },
  logLevel: { text: 'debug', value: 'debug' },
  logFile: { text: '/tmp/r.log', value: '/tmp/r.log' },
  logMaxBytes: { text: '8192', value: 8192 },
  logMaxFiles: { text: '2', value: 2 },
} satisfies Partial<Record<keyof typeof SERVER_OPTIONS, { text: string; value: unknown }>> as Partial<
  Record<keyof typeof SERVER_OPTIONS, { text: string; value: unknown }>
>;

test('--max-result-bytes: 256 KiB by default, from env or flag, 1 KiB to 8 MiB', () => {
  assert.equal(loadServerConfig([], {}).config.maxResultBytes, 256 * 1024);
  assert.equal(loadServerConfig([], { REACH_MAX_RESULT_BYTES: '65536' }).config.maxResultBytes, 65_536);
  assert.equal(loadServerConfig(['--max-result-bytes', '4096'], {}).config.maxResultBytes, 4096);
  assert.throws(() => loadServerConfig(['--max-result-bytes', '100'], {}), /invalid --max-result-bytes/);
  assert.throws(() => loadServerConfig(['--max-result-bytes', String(9 * 1024 * 1024)], {}), {
    code: 'INVALID_ARGUMENT',
  });
});
