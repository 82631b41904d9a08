import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  ReachError,
  type ReleaseManifest,
  ReleaseManifestSchema,
  SIGNATURE_FILE,
  SUMS_FILE,
  sha256Sums,
} from '@reach/protocol';
import {
  MINISIGN,
  type MinisignPublicKey,
  signatureError,
  verifyReleaseManifest,
} from '@reach/protocol/node';

/** Copy buffer: 4 MiB per read keeps a 110 MB executable to ~28 reads and the heap flat. */
const CHUNK = 4 * 1024 * 1024;

export interface InstallResult {
  version: string;
  path: string;
  artifacts: number;
  /** An older copy of the same version was replaced (`--force`). */
  replaced: boolean;
  /** The signing key's id when the signature was checked (`publicKey` given), else undefined. */
  signedBy: string | undefined;
  /** The same release was installed already and left as it was (`keepIdentical`). */
  unchanged?: true;
}

export interface InstallOptions {
  /** Replace an installed copy of the same version. */
  force?: boolean;
  /**
   * Require `release.json.minisig` and check it against this key before anything is copied
   * (`release publish`). Without it (`release install`) a signature present is copied unchecked:
   * clients check it against their own key anyway.
   */
  publicKey?: MinisignPublicKey | undefined;
  /**
   * An installed copy with the same release.json and signature bytes is kept and reported
   * `unchanged` instead of refused (`release publish` again to move a channel).
   */
  keepIdentical?: boolean;
}

/** A small file read once through one handle, without following a symlink; undefined if absent. */
async function readSmall(file: string, what: string, max: number): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ReachError('FILE_NOT_FOUND', `${file} cannot be read`, { cause: err });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > max) {
      throw new ReachError('INVALID_ARGUMENT', `${file} is not a ${what} (${st.size} bytes)`);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

interface ReadRelease {
  manifest: ReleaseManifest;
  /** release.json's exact bytes: what the signature covers, so what is installed and served. */
  bytes: Buffer;
  signature: string | undefined;
  signedBy: string | undefined;
}

async function readRelease(from: string, publicKey: MinisignPublicKey | undefined): Promise<ReadRelease> {
  const file = join(from, MANIFEST_FILE);
  const bytes = await readSmall(file, 'release manifest', MAX_MANIFEST_BYTES);
  if (bytes === undefined) {
    throw new ReachError('FILE_NOT_FOUND', `${from} has no ${MANIFEST_FILE}: is it a dist/release?`);
  }
  const sig = await readSmall(join(from, SIGNATURE_FILE), 'minisign signature', MINISIGN.maxSignatureText);
  const signature = sig?.toString('utf8');
  if (publicKey !== undefined) {
    if (signature === undefined) {
      throw signatureError(
        'unsigned',
        `${from} is not signed (no ${SIGNATURE_FILE}): sign it with reach-server release sign or npm run release -- --sign-key FILE`,
      );
    }
    const v = verifyReleaseManifest(bytes, signature, publicKey);
    return { manifest: v.manifest, bytes, signature, signedBy: v.keyId };
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', `${file} is not JSON`, { cause: err });
  }
  const parsed = ReleaseManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new ReachError('INVALID_ARGUMENT', `${file}: ${parsed.error.issues[0]?.message}`);
  }
  return { manifest: parsed.data, bytes, signature, signedBy: undefined };
}

/** Copies `src` to `dst` (new file), hashing what it read; size and sha256 must match the manifest. */
async function copyVerified(
  src: string,
  dst: string,
  size: number,
  sha256: string,
  name: string,
): Promise<void> {
  const input = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: unknown) => {
    throw new ReachError('FILE_NOT_FOUND', `release artifact ${name} is missing`, { cause: err });
  });
  try {
    const st = await input.stat();
    if (!st.isFile() || st.size !== size) {
      throw new ReachError('INTEGRITY_ERROR', `${name}: ${st.size} bytes, release.json says ${size}`);
    }
    const output = await open(dst, 'wx', 0o644);
    try {
      const hash = createHash('sha256');
      const buf = Buffer.allocUnsafe(CHUNK);
      let total = 0;
      for (;;) {
        const { bytesRead } = await input.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > size) throw new ReachError('INTEGRITY_ERROR', `${name} grew while being copied`);
        hash.update(buf.subarray(0, bytesRead));
        await output.write(buf, 0, bytesRead);
      }
      const got = hash.digest('hex');
      if (total !== size || got !== sha256) {
        throw new ReachError('INTEGRITY_ERROR', `${name}: sha256 ${got} is not release.json's ${sha256}`);
      }
      await output.sync();
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/**
 * `reach-server release install|publish DIR`: copies a `dist/release` into `<releasesDir>/<version>/`.
 * Every artifact is checked against release.json (size, sha256) while it is copied into a hidden
 * temporary directory, which is renamed into place only when all passed: a failed install leaves
 * the served releases as they were. An installed version is replaced only with `force`.
 */
export async function installRelease(
  from: string,
  releasesDir: string,
  options: InstallOptions = {},
): Promise<InstallResult> {
  const force = options.force === true;
  const { manifest, bytes, signature, signedBy } = await readRelease(from, options.publicKey);
  const target = join(releasesDir, manifest.version);
  await mkdir(releasesDir, { recursive: true, mode: 0o755 });
  const exists = await open(target, constants.O_RDONLY | constants.O_DIRECTORY).then(
    async (h) => {
      await h.close();
      return true;
    },
    () => false,
  );
  if (exists && !force && options.keepIdentical === true) {
    const had = await readSmall(join(target, MANIFEST_FILE), 'release manifest', MAX_MANIFEST_BYTES);
    const hadSig = await readSmall(
      join(target, SIGNATURE_FILE),
      'minisign signature',
      MINISIGN.maxSignatureText,
    );
    if (had?.equals(bytes) && hadSig?.toString('utf8') === signature) {
      return {
        version: manifest.version,
        path: target,
        artifacts: manifest.artifacts.length,
        replaced: false,
        signedBy,
        unchanged: true,
      };
    }
  }
  if (exists && !force) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      `release ${manifest.version} is already installed at ${target}; pass --force to replace it`,
    );
  }
  const tmp = join(releasesDir, `.install-${manifest.version}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { mode: 0o755 });
  try {
    for (const a of manifest.artifacts) {
      await copyVerified(join(from, a.name), join(tmp, a.name), a.size, a.sha256, a.name);
    }
    await writeFile(join(tmp, MANIFEST_FILE), bytes, { flag: 'wx' });
    if (signature !== undefined) await writeFile(join(tmp, SIGNATURE_FILE), signature, { flag: 'wx' });
    await writeFile(join(tmp, SUMS_FILE), sha256Sums(manifest), { flag: 'wx' });
    if (exists) {
      const old = `${tmp}.old`;
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return {
    version: manifest.version,
    path: target,
    artifacts: manifest.artifacts.length,
    replaced: exists,
    signedBy,
  };
}
