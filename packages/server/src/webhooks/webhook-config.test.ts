import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseWebhookConfig, webhookUrlProblem } from './webhook-config.ts';

describe('webhook config', () => {
  test('defaults: no URL, no secret, 10 s timeout, 3 quick retries', () => {
    const c = parseWebhookConfig();
    assert.equal(c.url, undefined);
    assert.equal(c.secret, undefined);
    assert.equal(c.timeoutS, 10);
    assert.equal(c.maxRetries, 3);
  });

  test('raw environment strings are accepted; empty means unset', () => {
    const c = parseWebhookConfig({
      url: 'https://hooks.example/x',
      secret: '',
      timeoutS: '2.5',
      maxRetries: '5',
    });
    assert.deepEqual(
      [c.url, c.secret, c.timeoutS, c.maxRetries],
      ['https://hooks.example/x', undefined, 2.5, 5],
    );
  });

  test('bad values are INVALID_ARGUMENT naming the field', () => {
    assert.throws(
      () => parseWebhookConfig({ url: 'ftp://x' }),
      (e: { code: string; message: string }) =>
        e.code === 'INVALID_ARGUMENT' && e.message.startsWith('webhook url'),
    );
    assert.throws(() => parseWebhookConfig({ timeoutS: '0' }), /webhook timeoutS/);
    assert.throws(() => parseWebhookConfig({ maxRetries: 'x' }), /webhook maxRetries/);
  });

  test('webhookUrlProblem', () => {
    assert.equal(webhookUrlProblem('http://127.0.0.1:9/h'), null);
    assert.notEqual(webhookUrlProblem('javascript:alert(1)'), null);
    assert.notEqual(webhookUrlProblem(`https://x/${'a'.repeat(2000)}`), null);
  });
});
