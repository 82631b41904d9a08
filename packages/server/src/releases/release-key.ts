import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { ReachError } from '@reach/protocol';
import { formatPublicKey, formatSignature, keyIdHex, MINISIGN, prehash } from '@reach/protocol/node';

/**
 * The release signing key in minisign's own unencrypted secret-key format, byte for byte what
 * `minisign -G -W` writes (jedisct1/minisign src/minisign.h SeckeyStruct, 158 bytes):
 * `Ed` ‖ kdf `\0\0` ‖ `B2` ‖ salt (32) ‖ opslimit (8) ‖ memlimit (8) ‖ key id (8) ‖
 * Ed25519 secret key (64: seed ‖ public key) ‖ checksum (32). For an unencrypted key minisign
 * leaves salt, limits and checksum all zero and never checks them (it computes the BLAKE2b-256
 * checksum only in encrypt_key), so no BLAKE2b-256 is needed here (Node's OpenSSL has only
 * BLAKE2b-512). In its place a loaded key's public half must equal what its seed derives.
 * Encrypted (`Sc`, scrypt) keys are refused: the key is meant to live offline, owner-only.
 */
const LAYOUT = { total: 158, kdf: 2, chk: 4, keyId: 54, seed: 62, pk: 94, checksum: 126 } as const;

export interface ReleaseSecretKey {
  keyId: string;
  keyIdBytes: Buffer;
  privateKey: KeyObject;
  /** The raw 32-byte public key. */
  publicRaw: Buffer;
}

export interface GeneratedReleaseKey extends ReleaseSecretKey {
  /** The secret key file's text (write it 0600). */
  secretText: string;
  /** The public key file's text (`minisign -V -p` reads it; so does every Reach end). */
  publicText: string;
}

/** PKCS#8 prefix of an Ed25519 private key (RFC 8410 §7): the 32-byte seed follows. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

function privateFromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublic(key: KeyObject): Buffer {
  const x = createPublicKey(key).export({ format: 'jwk' }).x;
  if (x === undefined) throw new Error('Ed25519 key without x');
  return Buffer.from(x, 'base64url');
}

/** A new key pair: random 8-byte key id, Ed25519 key from node:crypto. */
export function generateReleaseKey(): GeneratedReleaseKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const d = privateKey.export({ format: 'jwk' }).d;
  if (d === undefined) throw new Error('Ed25519 key without d');
  const seed = Buffer.from(d, 'base64url');
  const keyIdBytes = randomBytes(MINISIGN.keyIdBytes);
  const publicRaw = rawPublic(privateKey);
  const bin = Buffer.alloc(LAYOUT.total);
  bin.write(MINISIGN.keyAlg, 0, 'latin1');
  bin.write('B2', LAYOUT.chk, 'latin1');
  keyIdBytes.copy(bin, LAYOUT.keyId);
  seed.copy(bin, LAYOUT.seed);
  publicRaw.copy(bin, LAYOUT.pk);
  const keyId = keyIdHex(keyIdBytes);
  return {
    keyId,
    keyIdBytes,
    privateKey,
    publicRaw,
    secretText: `${MINISIGN.untrusted}reach release secret key ${keyId} (unencrypted: keep it offline)\n${bin.toString('base64')}\n`,
    publicText: formatPublicKey(keyIdBytes, publicRaw),
  };
}

/** Reads a secret key file's text (ours or `minisign -G -W`'s). */
export function parseSecretKey(text: string): ReleaseSecretKey {
  const bad = (why: string) => new ReachError('INVALID_ARGUMENT', `the release secret key ${why}`);
  const [comment, line] = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (comment === undefined || !comment.startsWith(MINISIGN.untrusted) || line === undefined) {
    throw bad('is not a minisign secret key file');
  }
  const bin = Buffer.from(line.trim(), 'base64');
  if (bin.length !== LAYOUT.total || bin.subarray(0, 2).toString('latin1') !== MINISIGN.keyAlg) {
    throw bad('is not an Ed25519 minisign secret key');
  }
  const kdf = bin.subarray(LAYOUT.kdf, LAYOUT.kdf + 2).toString('latin1');
  if (kdf === 'Sc') {
    throw bad(
      'is password-protected; Reach signs with unencrypted keys only (reach-server release-key generate, or minisign -G -W)',
    );
  }
  if (kdf !== '\0\0') throw bad(`uses an unknown key derivation ${JSON.stringify(kdf)}`);
  const seed = Buffer.from(bin.subarray(LAYOUT.seed, LAYOUT.pk));
  const stored = Buffer.from(bin.subarray(LAYOUT.pk, LAYOUT.checksum));
  const privateKey = privateFromSeed(seed);
  const publicRaw = rawPublic(privateKey);
  if (!publicRaw.equals(stored)) throw bad('is damaged: its public half is not the one its seed derives');
  const keyIdBytes = Buffer.from(bin.subarray(LAYOUT.keyId, LAYOUT.seed));
  return { keyId: keyIdHex(keyIdBytes), keyIdBytes, privateKey, publicRaw };
}

/** minisign's default trusted comment for `file` (`timestamp:<s>\tfile:<name>\thashed`). */
export function defaultTrustedComment(file: string, nowMs: number): string {
  return `timestamp:${Math.floor(nowMs / 1000)}\tfile:${file}\thashed`;
}

/** A `.minisig` of `message`: prehashed (`ED`), with a trusted comment and its global signature. */
export function signMinisign(message: Uint8Array, key: ReleaseSecretKey, trustedComment: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a line end would end the comment's line
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(trustedComment)) {
    throw new ReachError('INVALID_ARGUMENT', 'a trusted comment is one line of printable text');
  }
  const signature = sign(null, prehash(message), key.privateKey);
  const globalSignature = sign(
    null,
    Buffer.concat([signature, Buffer.from(trustedComment, 'utf8')]),
    key.privateKey,
  );
  return formatSignature({
    keyIdBytes: key.keyIdBytes,
    signature,
    untrustedComment: `signature from reach release key ${key.keyId}`,
    trustedComment,
    globalSignature,
  });
}
