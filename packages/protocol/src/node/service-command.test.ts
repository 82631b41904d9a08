import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { SERVICE_V8_FLAGS, serviceCommand } from './service-command.ts';

test('node-run: node, the young-generation cap, its own flags, the script; never twice', () => {
  assert.deepEqual(serviceCommand(['/usr/bin/node', 'bin/reach.mjs'], [], '/usr/bin/node'), [
    '/usr/bin/node',
    ...SERVICE_V8_FLAGS,
    resolve('bin/reach.mjs'),
  ]);
  assert.deepEqual(
    serviceCommand(['/n', '/r/reach.mjs'], ['--max-semi-space-size=4', '--no-warnings'], '/n'),
    ['/n', '--max-semi-space-size=4', '--no-warnings', '/r/reach.mjs'],
    "the operator's own setting wins",
  );
});

test('a single executable runs as itself (its flags are baked into it)', () => {
  assert.deepEqual(serviceCommand(['/opt/reach', '/opt/reach'], [], '/opt/reach'), ['/opt/reach']);
  assert.deepEqual(serviceCommand(['/opt/reach'], [], '/opt/reach'), ['/opt/reach']);
});
