import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  ARTIFACT_NAME,
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  RELEASE_VERSION,
  ReachError,
  type ReleaseManifest,
  ReleaseManifestSchema,
  SIGNATURE_FILE,
  SUMS_FILE,
  sha256Sums,
} from '@reach/protocol';
import { latestVersion } from './release-version.ts';

/** A release file opened for serving; the caller streams a range of it and closes it. */
export interface OpenedReleaseFile {
  /** The canonical artifact name (an alias resolves to it). */
  name: string;
  version: string;
  size: number;
  /** Strong validator: the artifact's sha256 from release.json (of the text for the manifest files). */
  etag: string;
  contentType: string;
  /** A stream of bytes `start`..`end` inclusive; closes the file when done. */
  stream(start: number, end: number): Readable;
  close(): Promise<void>;
}

function notFound(what: string): ReachError {
  return new ReachError('FILE_NOT_FOUND', `no release file ${what}`);
}

async function openNoFollow(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
}

/**
 * The releases directory: `<dir>/<version>/` each holding what `npm run release` wrote (artifacts,
 * release.json, SHA256SUMS, release.json.minisig when signed), put there by `reach-server release
 * install|publish`. Serves only names release.json lists (or its aliases) and those three files:
 * nothing else in the directory is reachable, and no listing exists beyond release.json.
 */
export class ReleaseStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Installed versions, lowest first. */
  async versions(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => RELEASE_VERSION.test(n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** `latest` or an exact version → the version directory's name, or FILE_NOT_FOUND. */
  async resolveVersion(version: string): Promise<string> {
    if (version === 'latest') {
      const latest = latestVersion(await this.versions());
      if (latest === undefined) throw notFound('(no release installed)');
      return latest;
    }
    if (!RELEASE_VERSION.test(version)) throw notFound(`for version ${version}`);
    return version;
  }

  async manifest(version: string): Promise<ReleaseManifest> {
    return (await this.manifestFile(version)).manifest;
  }

  /** The manifest with its exact bytes (what its signature covers) and the signature, if any. */
  async manifestFile(
    version: string,
  ): Promise<{ manifest: ReleaseManifest; bytes: Buffer; signature: string | undefined }> {
    const v = await this.resolveVersion(version);
    return { ...(await this.#manifest(v)), signature: await this.#signature(v) };
  }

  async #manifest(v: string): Promise<{ manifest: ReleaseManifest; bytes: Buffer }> {
    const bytes = await this.#readSmall(join(this.dir, v, MANIFEST_FILE), `${v}/${MANIFEST_FILE}`);
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      json = undefined;
    }
    const parsed = ReleaseManifestSchema.safeParse(json);
    if (!parsed.success || parsed.data.version !== v) {
      throw new ReachError('INTERNAL_ERROR', `release ${v}: release.json is not valid`);
    }
    return { manifest: parsed.data, bytes };
  }

  /** The version's release.json.minisig text; undefined when the release is not signed. */
  async #signature(v: string): Promise<string | undefined> {
    return this.#readSmall(join(this.dir, v, SIGNATURE_FILE), `${v}/${SIGNATURE_FILE}`).then(
      (b) => b.toString('utf8'),
      (err: unknown) => {
        if (err instanceof ReachError && err.code === 'FILE_NOT_FOUND') return undefined;
        throw err;
      },
    );
  }

  /** Opens `name` (an artifact, an alias, release.json or SHA256SUMS) of `version` (or `latest`). */
  async open(version: string, name: string): Promise<OpenedReleaseFile> {
    if (!ARTIFACT_NAME.test(name)) throw notFound(name);
    const v = await this.resolveVersion(version);
    const { manifest, bytes } = await this.#manifest(v);
    // release.json goes out as the bytes that were signed: a client checks them, not a re-encoding.
    if (name === MANIFEST_FILE) return memoryFile(name, v, bytes, 'application/json');
    if (name === SUMS_FILE)
      return memoryFile(name, v, Buffer.from(sha256Sums(manifest)), 'text/plain; charset=utf-8');
    if (name === SIGNATURE_FILE) {
      // Read only when asked for: an artifact download opens release.json and the artifact, no more.
      const signature = await this.#signature(v);
      if (signature === undefined) throw notFound(`${v}/${name} (release ${v} is not signed)`);
      return memoryFile(name, v, Buffer.from(signature), 'text/plain; charset=utf-8');
    }
    const artifact = manifest.artifacts.find((a) => a.name === name || a.aliases.includes(name));
    if (artifact === undefined) throw notFound(`${v}/${name}`);
    let handle: FileHandle;
    try {
      handle = await openNoFollow(join(this.dir, v, artifact.name));
    } catch (err) {
      throw new ReachError('FILE_NOT_FOUND', `release ${v}: ${artifact.name} is missing`, { cause: err });
    }
    const st = await handle.stat();
    if (!st.isFile() || st.size !== artifact.size) {
      await handle.close();
      throw new ReachError(
        'INTEGRITY_ERROR',
        `release ${v}: ${artifact.name} is not the size release.json says`,
      );
    }
    let closed = false;
    return {
      name: artifact.name,
      version: v,
      size: artifact.size,
      etag: `"${artifact.sha256}"`,
      contentType: 'application/octet-stream',
      stream: (start, end) => {
        closed = true;
        return handle.createReadStream({ start, end, autoClose: true });
      },
      close: async () => {
        if (!closed) {
          closed = true;
          await handle.close();
        }
      },
    };
  }

  async #readSmall(path: string, what: string): Promise<Buffer> {
    let handle: FileHandle;
    try {
      handle = await openNoFollow(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(what);
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.size > MAX_MANIFEST_BYTES) {
        throw new ReachError('INTERNAL_ERROR', `${what} is not a release manifest`);
      }
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }
}

function memoryFile(name: string, version: string, body: Buffer, contentType: string): OpenedReleaseFile {
  return {
    name,
    version,
    size: body.length,
    etag: `"${createHash('sha256').update(body).digest('hex')}"`,
    contentType,
    stream: (start, end) => Readable.from([body.subarray(start, end + 1)]),
    close: async () => {},
  };
}
