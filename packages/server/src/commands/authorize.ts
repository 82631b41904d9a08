import { appendFile, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ReachError } from '@reach/protocol';
import { AUTHORIZED_KEYS_FILE, parseAuthorizedKeyLine, parseAuthorizedKeys } from '../ssh/authorized-keys.ts';

export interface AuthorizeResult {
  fingerprint: string;
  /** False when the key was already authorized (nothing written). */
  added: boolean;
  path: string;
}

/**
 * `reach-server authorize <pubkey-file|key-text>`: validates an OpenSSH public key and appends it
 * to `<data-dir>/authorized_keys` unless it is already there.
 */
export async function authorizeKey(dataDir: string, keyOrFile: string): Promise<AuthorizeResult> {
  let text = keyOrFile.trim();
  if (!/^\S*(ssh-|ecdsa-|sk-)/.test(text)) {
    try {
      text = (await readFile(keyOrFile, 'utf8')).trim();
    } catch {
      throw new ReachError('INVALID_ARGUMENT', `${keyOrFile} is neither a public key nor a readable file`);
    }
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (lines.length !== 1) {
    throw new ReachError('INVALID_ARGUMENT', 'expected exactly one public key line');
  }
  const line = lines[0]!.trim();
  if (line.includes('PRIVATE KEY')) throw new ReachError('INVALID_ARGUMENT', 'that is a private key');
  const key = parseAuthorizedKeyLine(line);
  if (!key) throw new ReachError('INVALID_ARGUMENT', 'no public key found');

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, AUTHORIZED_KEYS_FILE);
  let existing = '';
  try {
    existing = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (parseAuthorizedKeys(existing).some((k) => k.fingerprint === key.fingerprint)) {
    return { fingerprint: key.fingerprint, added: false, path };
  }
  const prefix = existing === '' || existing.endsWith('\n') ? '' : '\n';
  await appendFile(path, `${prefix}${line}\n`, { mode: 0o600 });
  // `sudo reach-server authorize` into a service's data dir: the file must stay the service
  // user's (it is 0600), or the running server can no longer read its own authorized_keys.
  const owner = await stat(dataDir);
  if (process.getuid?.() === 0 && owner.uid !== 0) await chown(path, owner.uid, owner.gid);
  return { fingerprint: key.fingerprint, added: true, path };
}
