import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capText } from './cap-text.ts';

const jsonBytes = (s: string) => Buffer.byteLength(JSON.stringify(s));

test('text within the budget is unchanged', () => {
  assert.deepEqual(capText('short', 1024), { text: 'short', cut: false });
});

test('longer text keeps head and tail within the budget, whatever escaping and UTF-8 cost', () => {
  for (const body of ['a'.repeat(100_000), '\u0001é😀'.repeat(20_000), `start${'x'.repeat(50_000)}end`]) {
    const { text, cut } = capText(body, 4096);
    assert.equal(cut, true);
    assert.ok(jsonBytes(text) <= 4096, `${jsonBytes(text)} bytes`);
    assert.equal(text.slice(0, 3), body.slice(0, 3));
    assert.equal(text.slice(-3), body.slice(-3));
    assert.match(text, /characters omitted here/);
    assert.ok(
      !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text),
      'no lone surrogate',
    );
  }
});
