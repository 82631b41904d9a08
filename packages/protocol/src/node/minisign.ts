import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ReachError } from '../errors.ts';

/**
 * minisign's public-key and signature formats (jedisct1/minisign, src/minisign.h), verify side.
 * A public key is `Ed` ‖ key id (8 bytes) ‖ Ed25519 key (32), base64, under an `untrusted
 * comment:` line. A signature file is four lines: untrusted comment, base64 of `ED` ‖ key id ‖
 * Ed25519(BLAKE2b-512(file)) (74 bytes), `trusted comment: …`, and base64 of the global signature
 * Ed25519(signature ‖ trusted comment) (64), which is what makes the trusted comment trusted.
 */
export const MINISIGN = {
  keyAlg: 'Ed',
  /** Prehashed: the file's BLAKE2b-512 is signed, not the file (minisign's default since 0.8). */
  hashedAlg: 'ED',
  legacyAlg: 'Ed',
  keyIdBytes: 8,
  publicKeyBytes: 42,
  signatureBytes: 74,
  untrusted: 'untrusted comment: ',
  trusted: 'trusted comment: ',
  /** minisign's TRUSTEDCOMMENTMAXBYTES (8192) less its prefix and line end. */
  maxTrustedComment: 8192 - 'trusted comment: '.length - 2,
  /** A .minisig is about 300 bytes; anything far larger is not one. */
  maxSignatureText: 16 * 1024,
} as const;

/** Why a signature was refused: `details.reason` of SIGNATURE_INVALID. */
export type SignatureRefusal =
  | 'unsigned'
  | 'malformed_key'
  | 'malformed_signature'
  | 'unsupported_algorithm'
  | 'wrong_key'
  | 'bad_signature'
  | 'bad_trusted_comment';

export function signatureError(reason: SignatureRefusal, message: string, cause?: unknown): ReachError {
  return new ReachError('SIGNATURE_INVALID', message, {
    details: { reason },
    recoveryHint:
      reason === 'wrong_key'
        ? 'sign the release with the key whose public half is configured, or configure that key'
        : 'rebuild and re-sign the release (npm run release -- --sign-key FILE)',
    ...(cause === undefined ? {} : { cause }),
  });
}

export interface MinisignPublicKey {
  /** The 8-byte key id as minisign prints it (`%016X` of the little-endian number). */
  keyId: string;
  keyIdBytes: Buffer;
  /** The raw 32-byte Ed25519 public key. */
  raw: Buffer;
  key: KeyObject;
}

/** minisign prints a key id as the 64-bit little-endian number in upper-case hex. */
export function keyIdHex(id: Uint8Array): string {
  // minisign prints it with `%" PRIX64 "`: no leading zeros (1 key in 16 has a shorter id; a CI
  // run drew one: 52D5C4A20068018 in minisign's own key file).
  return Buffer.from(id)
    .reverse()
    .toString('hex')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');
}

/** Strict base64: minisign's b64_to_bin refuses anything else, so do we. */
function decodeBase64(text: string, bytes: number): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const out = Buffer.from(text, 'base64');
  return out.length === bytes ? out : undefined;
}

/** Lines without their `\r\n`/`\n` ends; a trailing empty line dropped. */
function lines(text: string): string[] {
  const out = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (out.at(-1) === '') out.pop();
  return out;
}

export function publicKeyFromRaw(keyIdBytes: Buffer, raw: Buffer): MinisignPublicKey {
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
  return { keyId: keyIdHex(keyIdBytes), keyIdBytes, raw, key };
}

/**
 * A minisign public key: the file's text (comment line and key line) or the key line alone
 * (`minisign -P`'s argument).
 */
export function parsePublicKey(text: string): MinisignPublicKey {
  const all = lines(text.trim());
  const body = all[0]?.startsWith(MINISIGN.untrusted) ? all.slice(1) : all;
  const bin = body.length === 1 ? decodeBase64(body[0]?.trim() ?? '', MINISIGN.publicKeyBytes) : undefined;
  if (bin === undefined) {
    throw signatureError('malformed_key', 'the release public key is not a minisign public key');
  }
  if (bin.subarray(0, 2).toString('latin1') !== MINISIGN.keyAlg) {
    throw signatureError('malformed_key', 'the release public key is not an Ed25519 minisign key');
  }
  return publicKeyFromRaw(Buffer.from(bin.subarray(2, 10)), Buffer.from(bin.subarray(10)));
}

/** The public key file's text, as `minisign -G` writes it. */
export function formatPublicKey(keyIdBytes: Uint8Array, raw: Uint8Array): string {
  const bin = Buffer.concat([Buffer.from(MINISIGN.keyAlg, 'latin1'), keyIdBytes, raw]);
  return `${MINISIGN.untrusted}minisign public key ${keyIdHex(keyIdBytes)}\n${bin.toString('base64')}\n`;
}

export interface MinisignSignature {
  algorithm: 'ED' | 'Ed';
  keyIdBytes: Buffer;
  /** Ed25519 signature of the file (or of its BLAKE2b-512 for `ED`). */
  signature: Buffer;
  untrustedComment: string;
  trustedComment: string;
  /** Ed25519 signature of `signature ‖ trustedComment`. */
  globalSignature: Buffer;
}

/** Parses a `.minisig` file's text; refuses anything minisign itself would refuse. */
export function parseSignature(text: string): MinisignSignature {
  const bad = (why: string) => signatureError('malformed_signature', `the release signature ${why}`);
  if (text.length > MINISIGN.maxSignatureText) throw bad(`is ${text.length} bytes: not a minisign signature`);
  const [untrusted, sig, trusted, global, ...rest] = lines(text);
  if (rest.some((l) => l.trim() !== '')) throw bad('has more than four lines');
  if (untrusted === undefined || !untrusted.startsWith(MINISIGN.untrusted)) {
    throw bad(`does not start with "${MINISIGN.untrusted.trim()}"`);
  }
  const sigBin = decodeBase64(sig?.trim() ?? '', MINISIGN.signatureBytes);
  if (sigBin === undefined) throw bad('line 2 is not a minisign signature');
  if (trusted === undefined || !trusted.startsWith(MINISIGN.trusted)) {
    throw bad(`line 3 does not start with "${MINISIGN.trusted.trim()}"`);
  }
  const globalBin = decodeBase64(global?.trim() ?? '', 64);
  if (globalBin === undefined) throw bad('line 4 is not a minisign global signature');
  const alg = sigBin.subarray(0, 2).toString('latin1');
  if (alg !== MINISIGN.hashedAlg && alg !== MINISIGN.legacyAlg) {
    throw signatureError(
      'unsupported_algorithm',
      `the release signature's algorithm ${JSON.stringify(alg)} is unknown`,
    );
  }
  return {
    algorithm: alg,
    keyIdBytes: Buffer.from(sigBin.subarray(2, 10)),
    signature: Buffer.from(sigBin.subarray(10)),
    untrustedComment: untrusted.slice(MINISIGN.untrusted.length),
    // Exactly the line's text: minisign strips only the line end (helpers.c trim()).
    trustedComment: trusted.slice(MINISIGN.trusted.length),
    globalSignature: globalBin,
  };
}

/** A `.minisig` file's text from its parts (what `minisign -S` writes). */
export function formatSignature(s: Omit<MinisignSignature, 'algorithm'> & { algorithm?: 'ED' }): string {
  const sig = Buffer.concat([Buffer.from(MINISIGN.hashedAlg, 'latin1'), s.keyIdBytes, s.signature]);
  return (
    `${MINISIGN.untrusted}${s.untrustedComment}\n${sig.toString('base64')}\n` +
    `${MINISIGN.trusted}${s.trustedComment}\n${s.globalSignature.toString('base64')}\n`
  );
}

/** What an `ED` signature signs: the file's BLAKE2b-512 (Node's OpenSSL has it built in). */
export function prehash(message: Uint8Array): Buffer {
  return createHash('blake2b512').update(message).digest();
}

/** printable: minisign's is_printable (no control characters); a tab is what its default uses. */
function printable(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  return !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(text);
}

/**
 * Verifies a minisign signature of `message` as `minisign -V` does: the key id must be the trusted
 * key's, the file's signature must hold, and so must the global signature over the trusted
 * comment. Only prehashed (`ED`) signatures are accepted: a legacy `Ed` one would make the client
 * hold the whole file in memory to check it, and every minisign since 0.8 writes `ED`.
 * Returns the trusted comment; throws SIGNATURE_INVALID with `details.reason`.
 */
export function verifyMinisign(message: Uint8Array, sigText: string, publicKey: MinisignPublicKey): string {
  const sig = parseSignature(sigText);
  if (sig.algorithm !== MINISIGN.hashedAlg) {
    throw signatureError(
      'unsupported_algorithm',
      'the release signature is a legacy (not prehashed) minisign signature: re-sign it with a current minisign',
    );
  }
  if (!sig.keyIdBytes.equals(publicKey.keyIdBytes)) {
    throw signatureError(
      'wrong_key',
      `the release is signed by key ${keyIdHex(sig.keyIdBytes)}, not by the trusted release key ${publicKey.keyId}`,
    );
  }
  if (!verify(null, prehash(message), publicKey.key, sig.signature)) {
    throw signatureError(
      'bad_signature',
      `the release signature does not match its file (changed after signing, or signed by another key with the id ${publicKey.keyId})`,
    );
  }
  const comment = Buffer.from(sig.trustedComment, 'utf8');
  if (
    !printable(sig.trustedComment) ||
    comment.length > MINISIGN.maxTrustedComment ||
    !verify(null, Buffer.concat([sig.signature, comment]), publicKey.key, sig.globalSignature)
  ) {
    throw signatureError(
      'bad_trusted_comment',
      'the release signature’s trusted comment was changed after signing',
    );
  }
  return sig.trustedComment;
}
