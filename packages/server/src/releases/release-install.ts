import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReachError } from '@reach/protocol';
import {
  MANIFEST_FILE,
  type ReleaseManifest,
  ReleaseManifestSchema,
  SUMS_FILE,
  sha256Sums,
} from './release-manifest.ts';

/** Copy buffer: 4 MiB per read keeps a 110 MB executable to ~28 reads and the heap flat. */
const CHUNK = 4 * 1024 * 1024;

export interface InstallResult {
  version: string;
  path: string;
  artifacts: number;
  /** An older copy of the same version was replaced (`--force`). */
  replaced: boolean;
}

/** release.json is a few KiB; a file far larger is refused before it is read. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

async function readManifest(from: string): Promise<ReleaseManifest> {
  const file = join(from, MANIFEST_FILE);
  let text: string;
  try {
    const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.size > MAX_MANIFEST_BYTES) {
        throw new ReachError('INVALID_ARGUMENT', `${file} is not a release manifest (${st.size} bytes)`);
      }
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof ReachError) throw err;
    throw new ReachError('FILE_NOT_FOUND', `${from} has no ${MANIFEST_FILE}: is it a dist/release?`, {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', `${file} is not JSON`, { cause: err });
  }
  const parsed = ReleaseManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new ReachError('INVALID_ARGUMENT', `${file}: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
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
 * `reach-server release install DIR`: copies a `dist/release` into `<releasesDir>/<version>/`.
 * Every artifact is checked against release.json (size, sha256) while it is copied into a hidden
 * temporary directory, which is renamed into place only when all passed: a failed install leaves
 * the served releases as they were. An installed version is replaced only with `force`.
 */
export async function installRelease(
  from: string,
  releasesDir: string,
  force = false,
): Promise<InstallResult> {
  const manifest = await readManifest(from);
  const target = join(releasesDir, manifest.version);
  await mkdir(releasesDir, { recursive: true, mode: 0o755 });
  const exists = await open(target, constants.O_RDONLY | constants.O_DIRECTORY).then(
    async (h) => {
      await h.close();
      return true;
    },
    () => false,
  );
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
    await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx' });
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
  return { version: manifest.version, path: target, artifacts: manifest.artifacts.length, replaced: exists };
}
