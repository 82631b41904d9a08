import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReachError } from '@reach/protocol';
import ssh2 from 'ssh2';
import { fingerprintOfBlob } from './fingerprint.ts';

export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

export interface HostKey {
  /** OpenSSH private key text; never logged. */
  privateKey: string;
  /** `SHA256:…` of the public key. */
  fingerprint: string;
  /** `ssh-ed25519 AAAA…`. */
  publicKey: string;
}

/**
 * Loads the server's ed25519 host key from the data dir, creating it (0600, OpenSSH format) on
 * first start. `wx` makes two racing first starts agree on one key.
 */
export async function loadOrCreateHostKey(dataDir: string): Promise<HostKey> {
  const path = join(dataDir, HOST_KEY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const pair = generateEd25519('reach-server');
    try {
      await writeFile(path, pair.private, { mode: 0o600, flag: 'wx' });
      await writeFile(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== 'EEXIST') throw writeErr;
    }
    text = await readFile(path, 'utf8');
  }
  await chmod(path, 0o600);
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey()) {
    throw new ReachError('INVALID_ARGUMENT', `${path} is not a usable private key`);
  }
  const blob = parsed.getPublicSSH();
  return {
    privateKey: text,
    fingerprint: fingerprintOfBlob(blob),
    publicKey: `${parsed.type} ${blob.toString('base64')}`,
  };
}

/**
 * ssh2 1.17's keygen drops leading zero bytes of the ed25519 public key, so about one key in 256
 * comes out malformed (its own parser rejects it): generate again until both halves parse.
 */
function generateEd25519(comment: string): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (
      !(ssh2.utils.parseKey(pair.private) instanceof Error) &&
      !(ssh2.utils.parseKey(pair.public) instanceof Error)
    ) {
      return pair;
    }
  }
}
