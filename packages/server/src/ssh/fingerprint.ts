import { createHash } from 'node:crypto';

/** OpenSSH-style fingerprint of a public key blob (RFC 4253 §6.6 encoding): `SHA256:<base64, no padding>`. */
export function fingerprintOfBlob(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Public key line `<type> <base64 blob>` for a blob (no comment). */
export function publicKeyLine(type: string, blob: Uint8Array): string {
  return `${type} ${Buffer.from(blob).toString('base64')}`;
}
