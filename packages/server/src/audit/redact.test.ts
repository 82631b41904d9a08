import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { isSecretKey, REDACTED, redactArguments, redactUrl } from './redact.ts';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

describe('redactArguments', () => {
  test('secrets at any depth and in any spelling', () => {
    const out = redactArguments({
      host: 'db1',
      password: 'hunter2',
      jump_hosts: [{ host: 'bastion', username: 'u', password: 'pw2', passphrase: 'pp' }],
      nested: {
        deeper: { apiKey: 'k1', 'API-KEY': 'k2', private_key: 'PEM', privateKey: 'PEM2', token: 't' },
      },
      client_secret: 's',
      secret_access_key: 'sak',
      Authorization: 'Bearer x',
      key_file: '/home/u/.ssh/id_ed25519',
      old_access_key_id: 'AKIA',
    });
    assert.deepEqual(out, {
      host: 'db1',
      password: REDACTED,
      jump_hosts: [{ host: 'bastion', username: 'u', password: REDACTED, passphrase: REDACTED }],
      nested: {
        deeper: {
          apiKey: REDACTED,
          'API-KEY': REDACTED,
          private_key: REDACTED,
          privateKey: REDACTED,
          token: REDACTED,
        },
      },
      client_secret: REDACTED,
      secret_access_key: REDACTED,
      Authorization: REDACTED,
      key_file: '/home/u/.ssh/id_ed25519',
      old_access_key_id: 'AKIA',
    });
    const json = JSON.stringify(out);
    for (const s of ['hunter2', 'pw2', '"pp"', 'k1', 'k2', 'PEM', 'Bearer', 'sak'])
      assert.ok(!json.includes(s), s);
  });

  test('content bodies become size and sha256 (decoded when binary)', () => {
    const text = 'héllo file body';
    assert.deepEqual(redactArguments({ path: '/tmp/a', content: text }), {
      path: '/tmp/a',
      content: { size: Buffer.byteLength(text), sha256: sha(text) },
    });
    const bytes = Buffer.from([0, 1, 2, 255]);
    assert.deepEqual(redactArguments({ content: bytes.toString('base64'), binary: true }), {
      content: { size: 4, sha256: sha(bytes) },
      binary: true,
    });
  });

  test('env keeps its keys only', () => {
    assert.deepEqual(redactArguments({ cmd: 'make', env: { TOKEN_X: 'v1', PATH: '/bin' } }), {
      cmd: 'make',
      env: ['PATH', 'TOKEN_X'],
    });
  });

  test('URLs lose their password and query', () => {
    assert.equal(
      redactUrl('https://u:pw@bucket.r2.example/k?X-Amz-Signature=abc&X-Amz-Credential=def'),
      `https://u:${encodeURIComponent(REDACTED)}@bucket.r2.example/k?${REDACTED}`,
    );
    const out = redactArguments({
      download_url: 'https://x.example/o?sig=abc',
      note: 'https://x.example/?a=1',
    });
    assert.deepEqual(out, {
      download_url: `https://x.example/o?${REDACTED}`,
      note: 'https://x.example/?a=1',
    });
    assert.equal(redactUrl('not a url'), 'not a url');
  });

  test('bounded: long strings, long arrays, deep nesting', () => {
    const out = redactArguments({
      cmd: 'x'.repeat(20_000),
      list: Array.from({ length: 1500 }, (_, i) => i),
    }) as {
      cmd: string;
      list: unknown[];
    };
    assert.ok(out.cmd.length < 10_100 && out.cmd.endsWith('[+10000 chars]'));
    assert.equal(out.list.length, 1001);
    let deep: unknown = { password: 'bottom' };
    for (let i = 0; i < 50; i++) deep = { d: deep };
    assert.ok(!JSON.stringify(redactArguments(deep)).includes('bottom'));
  });

  test('leaves plain values alone and does not mutate its input', () => {
    const input = { a: 1, b: [true, null], password: 'p' };
    assert.deepEqual(redactArguments(input), { a: 1, b: [true, null], password: REDACTED });
    assert.equal(input.password, 'p');
    assert.equal(redactArguments('str'), 'str');
    assert.equal(redactArguments(undefined), undefined);
  });

  test('isSecretKey', () => {
    for (const k of [
      'password',
      'sshPassword',
      'PASSPHRASE',
      'webhook_secret',
      'refresh-token',
      'api_key',
      'apikey',
    ])
      assert.ok(isSecretKey(k), k);
    for (const k of ['path', 'key_file', 'max_tokens', 'tokens', 'key', 'keyboard'])
      assert.ok(!isSecretKey(k), k);
  });
});
