import ssh2 from 'ssh2';

/** An OpenSSH-format key pair: `private` (PEM) and `public` (`ssh-ed25519 <base64> [comment]`). */
export interface TestKeyPair {
  private: string;
  public: string;
}

/**
 * A fresh ed25519 key pair for tests. ssh2 1.17's keygen drops leading zero bytes of the public
 * key, so about one pair in 256 comes out malformed (its own parser rejects it) and a test using
 * it fails at random: generate again until both halves parse, as the products' keygens do
 * (client tunnel/keys.ts, server ssh/host-key.ts).
 */
export function ed25519KeyPair(comment?: string): TestKeyPair {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', comment === undefined ? {} : { comment });
    if (
      !(ssh2.utils.parseKey(pair.private) instanceof Error) &&
      !(ssh2.utils.parseKey(pair.public) instanceof Error)
    ) {
      return pair;
    }
  }
}
