import { ReachError } from '@reach/protocol';
import ssh2 from 'ssh2';
import { blobFingerprint } from './known-hosts.ts';

/** File names of the client key pair inside the config directory. */
export const PRIVATE_KEY_FILE = 'id_ed25519';
export const PUBLIC_KEY_FILE = 'id_ed25519.pub';

export interface KeyPair {
  /** OpenSSH private key text ("-----BEGIN OPENSSH PRIVATE KEY-----"), unencrypted. */
  privateKey: string;
  /** One authorized_keys line: "ssh-ed25519 <base64> <comment>". */
  publicKey: string;
}

/** A fresh ed25519 key pair in OpenSSH format. */
export function generateKeyPair(comment: string): KeyPair {
  // ssh2 1.17's keygen drops leading zero bytes of the ed25519 public key, so about one key in 256
  // comes out malformed (its own parser rejects it): generate again until both halves parse.
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (
      !(ssh2.utils.parseKey(pair.private) instanceof Error) &&
      !(ssh2.utils.parseKey(pair.public) instanceof Error)
    ) {
      return { privateKey: pair.private, publicKey: pair.public.trim() };
    }
  }
}

/**
 * OpenSSH-style fingerprint (`SHA256:` + unpadded base64 of the SHA-256 of the key blob) of a public
 * key line as found in authorized_keys or id_ed25519.pub.
 */
export function publicKeyFingerprint(publicKeyLine: string): string {
  const parsed = ssh2.utils.parseKey(publicKeyLine.trim());
  if (parsed instanceof Error) {
    throw new ReachError('INVALID_ARGUMENT', `not a public key: ${parsed.message}`);
  }
  return blobFingerprint(parsed.getPublicSSH());
}

/**
 * The authorized_keys line (`ssh-ed25519 <base64> <comment>`) and fingerprint of an OpenSSH
 * private key: what the server must be told to trust, derived from the key actually used.
 */
export function publicKeyOf(privateKey: string): { line: string; fingerprint: string } {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error)
    throw new ReachError('INVALID_ARGUMENT', `not a private key: ${parsed.message}`);
  const blob = parsed.getPublicSSH();
  const comment = parsed.comment ? ` ${parsed.comment}` : '';
  return { line: `${parsed.type} ${blob.toString('base64')}${comment}`, fingerprint: blobFingerprint(blob) };
}
