import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  ReachError,
  ReleaseManifestSchema,
  SIGNATURE_FILE,
} from '@reach/protocol';
import { writeFileReplacing } from '@reach/protocol/node';
import { defaultTrustedComment, parseSecretKey, type ReleaseSecretKey, signMinisign } from './release-key.ts';

export interface SignedRelease {
  version: string;
  keyId: string;
  path: string;
}

/**
 * Signs `<dir>/release.json` into `<dir>/release.json.minisig` (what `npm run release --
 * --sign-key` and `reach-server release sign` do). The artifacts need no signature of their own:
 * the signed manifest holds each one's size and sha256. Only a valid manifest is signed.
 */
export async function signReleaseDir(
  dir: string,
  key: ReleaseSecretKey,
  nowMs = Date.now(),
): Promise<SignedRelease> {
  const file = join(dir, MANIFEST_FILE);
  const bytes = await readFile(file).catch((err: unknown) => {
    throw new ReachError('FILE_NOT_FOUND', `${dir} has no ${MANIFEST_FILE}: is it a dist/release?`, {
      cause: err,
    });
  });
  if (bytes.length > MAX_MANIFEST_BYTES) throw new ReachError('INVALID_ARGUMENT', `${file} is too large`);
  let version: string;
  try {
    version = ReleaseManifestSchema.parse(JSON.parse(bytes.toString('utf8'))).version;
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', `${file} is not a release manifest`, { cause: err });
  }
  const text = signMinisign(bytes, key, defaultTrustedComment(MANIFEST_FILE, nowMs));
  const path = join(dir, SIGNATURE_FILE);
  await writeFileReplacing(path, text, 0o644);
  return { version, keyId: key.keyId, path };
}

/** Reads a secret key file; refuses one group or others may read (it signs what every client runs). */
export async function readSecretKeyFile(path: string): Promise<ReleaseSecretKey> {
  const handle = await open(path, 'r').catch((err: unknown) => {
    throw new ReachError('FILE_NOT_FOUND', `release secret key ${path} cannot be read`, { cause: err });
  });
  try {
    const st = await handle.stat();
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new ReachError(
        'PERMISSION_DENIED',
        `release secret key ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    }
    return parseSecretKey(await handle.readFile('utf8'));
  } finally {
    await handle.close();
  }
}
