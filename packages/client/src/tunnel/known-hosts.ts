import { createHash } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';

/** The OpenSSH known_hosts name of a host: `host` on port 22, `[host]:port` otherwise (sshd(8)). */
export function knownHostName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** `SHA256:<base64, no padding>` of a public key blob, as ssh-keygen -l prints it. */
export function blobFingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a public key blob (RFC 4253 §6.6: string type, then key data). */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + Math.min(len, 64)).toString('latin1');
}

export interface PinnedKey {
  keyType: string;
  blob: Buffer;
  fingerprint: string;
}

/** The keys pinned for `name` in an OpenSSH known_hosts file (none if the file is missing). */
export async function readPinnedKeys(path: string, name: string): Promise<PinnedKey[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: PinnedKey[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('@') || trimmed.startsWith('|'))
      continue;
    const [hosts, keyType, b64] = trimmed.split(/\s+/);
    if (hosts === undefined || keyType === undefined || b64 === undefined) continue;
    if (!hosts.toLowerCase().split(',').includes(name)) continue;
    const blob = Buffer.from(b64, 'base64');
    out.push({ keyType, blob, fingerprint: blobFingerprint(blob) });
  }
  return out;
}

/** Appends `name keytype base64` (file created 0600). */
export async function pinKey(path: string, name: string, blob: Buffer): Promise<void> {
  await appendFile(path, `${name} ${blobKeyType(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}
