import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitPage } from './fit-page.ts';

const clients = Array.from({ length: 1000 }, (_, i) => ({ uuid: `u${i}`, pad: 'x'.repeat(400) }));

test('a page over the result cap is cut at a client and the cursor follows the last kept', () => {
  const fitted = fitPage({ clients, next_cursor: null }, 64 * 1024, (c) => `after:${c.uuid}`);
  assert.ok(fitted.clients.length > 100 && fitted.clients.length < 1000, `${fitted.clients.length} kept`);
  assert.ok(Buffer.byteLength(JSON.stringify(fitted.clients)) <= 64 * 1024);
  assert.deepEqual(fitted.clients, clients.slice(0, fitted.clients.length), 'a prefix, in order');
  assert.equal(fitted.next_cursor, `after:${fitted.clients.at(-1)?.uuid}`);
});

test('a page that fits is returned as it is', () => {
  const page = { clients: clients.slice(0, 10), next_cursor: 'next' };
  assert.equal(
    fitPage(page, 64 * 1024, () => 'other'),
    page,
  );
});
