// ssh2's cipher module (no types in @types/ssh2): whether its native binding, sshcrypto.node, loaded.
declare module 'ssh2/lib/protocol/crypto.js' {
  const crypto: { bindingAvailable: boolean };
  export default crypto;
}
