import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

// PITFALLS 1: built against the wrong Node headers, ssh2's binding fails to load and ssh2 quietly
// falls back to slower JS crypto (no native AES-GCM / chacha20). Fail loudly instead.
test("ssh2's native crypto binding loads on this Node", () => {
  const require = createRequire(import.meta.url);
  const binding = require('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node') as Record<string, unknown>;
  assert.equal(typeof binding.AESGCMCipher, 'function');
  assert.equal(typeof binding.ChaChaPolyCipher, 'function');
});
