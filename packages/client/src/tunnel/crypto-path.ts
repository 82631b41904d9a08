import ssh2Crypto from 'ssh2/lib/protocol/crypto.js';

/**
 * Which implementation ssh2 encrypts with: `native` when its sshcrypto.node addon loaded (from
 * node_modules, or a single executable's asset), else `js` (Node's crypto one packet at a time,
 * slower: see bench:release). Reported by `reach --version`.
 */
export function sshCryptoPath(): 'native' | 'js' {
  return ssh2Crypto.bindingAvailable ? 'native' : 'js';
}
