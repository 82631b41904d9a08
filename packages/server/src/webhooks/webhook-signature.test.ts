import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.ts';

describe('webhook signatures', () => {
  const secret = 's3cret';
  const body = '{"id":"1","event":"client.connected"}';
  const now = 1_800_000_000_000;
  const ts = String(now / 1000);

  test('sha256=<hex HMAC of "<timestamp>.<body>">', () => {
    const hex = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
    assert.equal(signWebhook(secret, body, Number(ts)), `sha256=${hex}`);
    assert.equal(signWebhook(secret, Buffer.from(body), Number(ts)), `sha256=${hex}`);
  });

  test('accepts a valid signature within the tolerance', () => {
    const signature = signWebhook(secret, body, Number(ts));
    assert.equal(verifyWebhookSignature({ secret, body, timestamp: ts, signature, now }), true);
    assert.equal(
      verifyWebhookSignature({ secret, body, timestamp: ts, signature, now: () => now + 299_000 }),
      true,
    );
  });

  test('refuses a wrong secret, a changed body, a changed timestamp, and garbage', () => {
    const signature = signWebhook(secret, body, Number(ts));
    const base = { secret, body, timestamp: ts, signature, now };
    assert.equal(verifyWebhookSignature({ ...base, secret: 'other' }), false);
    assert.equal(verifyWebhookSignature({ ...base, body: `${body} ` }), false);
    assert.equal(
      verifyWebhookSignature({ ...base, timestamp: String(Number(ts) + 1), now: now + 1000 }),
      false,
    );
    assert.equal(verifyWebhookSignature({ ...base, signature: undefined }), false);
    assert.equal(verifyWebhookSignature({ ...base, timestamp: undefined }), false);
    assert.equal(verifyWebhookSignature({ ...base, timestamp: '12abc' }), false);
    assert.equal(verifyWebhookSignature({ ...base, signature: 'sha256=00' }), false);
    assert.equal(verifyWebhookSignature({ ...base, signature: signature.toUpperCase() }), false);
  });

  test('refuses a replay outside the tolerance (either side)', () => {
    const signature = signWebhook(secret, body, Number(ts));
    const base = { secret, body, timestamp: ts, signature };
    assert.equal(verifyWebhookSignature({ ...base, now: now + 301_000 }), false);
    assert.equal(verifyWebhookSignature({ ...base, now: now - 301_000 }), false);
    assert.equal(verifyWebhookSignature({ ...base, now: now + 3_000_000, toleranceS: 3600 }), true);
  });
});
