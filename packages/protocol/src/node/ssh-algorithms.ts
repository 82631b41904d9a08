/**
 * The SSH algorithms the Reach link negotiates, pinned once for both ends: the server offers
 * exactly these and the client asks for exactly these (ssh2's `algorithms` option, each list in
 * order of preference). Onward SSH to third-party hosts keeps ssh2's defaults: those hosts are not
 * ours to pin.
 *
 * What is left out and why (ssh-audit 2.5 on ssh2 1.17's defaults): `ecdh-sha2-nistp*` fail (NIST
 * curves), `diffie-hellman-group-exchange-sha256` is advertised by ssh2 but cannot be served (a
 * client picking it gets KEY_EXCHANGE_FAILED), the finite-field groups are slow and add nothing;
 * `hmac-sha1*` and the encrypt-and-MAC `hmac-sha2-*` warn; AES-CBC is not offered by ssh2's
 * defaults. ssh2 1.17 has no post-quantum hybrid (no `sntrup761x25519-sha512` nor
 * `mlkem768x25519-sha256` in lib/protocol/constants.js), so curve25519 is the only kex.
 */
export const SSH_ALGORITHMS = {
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org'],
  serverHostKey: ['ssh-ed25519'],
  /** AES-GCM first: the fastest cipher measured on these hosts (PITFALLS 2); chacha20 for peers
   * without AES acceleration; ctr only with the etm MACs below. */
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
    'aes128-ctr',
    'aes256-ctr',
  ],
  /** Encrypt-then-MAC only (the AEAD ciphers ignore this list). */
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'],
  /**
   * No compression: ssh2 lets an unauthenticated peer pick plain `zlib`, which inflated 5 KB on
   * the wire into a 2 MB user name; the link carries JSON and already-dense bulk data, so even the
   * post-auth `zlib@openssh.com` buys little against a decompression bomb from any key holder.
   */
  compress: ['none'],
} as const;

/** `SSH_ALGORITHMS` as the mutable arrays ssh2's `algorithms` option is typed with. */
export function sshAlgorithms(): {
  kex: string[];
  serverHostKey: string[];
  cipher: string[];
  hmac: string[];
  compress: string[];
} {
  return {
    kex: [...SSH_ALGORITHMS.kex],
    serverHostKey: [...SSH_ALGORITHMS.serverHostKey],
    cipher: [...SSH_ALGORITHMS.cipher],
    hmac: [...SSH_ALGORITHMS.hmac],
    compress: [...SSH_ALGORITHMS.compress],
  };
}
