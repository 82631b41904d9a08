import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ReachError } from '@reach/protocol';
import {
  ARTIFACT_NAME,
  MANIFEST_FILE,
  RELEASE_VERSION,
  type ReleaseManifest,
  ReleaseManifestSchema,
  SUMS_FILE,
  sha256Sums,
} from './release-manifest.ts';
import { latestVersion } from './release-version.ts';

/** release.json is a few KiB; anything far larger is not one of ours. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

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
 * release.json, SHA256SUMS), put there by `reach-server release install`. Serves only names
 * release.json lists (or its aliases) and the two manifest files: nothing else in the directory is
 * reachable, and no listing exists beyond release.json.
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
    const v = await this.resolveVersion(version);
    const text = await this.#readSmall(join(this.dir, v, MANIFEST_FILE), `${v}/${MANIFEST_FILE}`);
    const parsed = ReleaseManifestSchema.safeParse(JSON.parse(text));
    if (!parsed.success || parsed.data.version !== v) {
      throw new ReachError('INTERNAL_ERROR', `release ${v}: release.json is not valid`);
    }
    return parsed.data;
  }

  /** Opens `name` (an artifact, an alias, release.json or SHA256SUMS) of `version` (or `latest`). */
  async open(version: string, name: string): Promise<OpenedReleaseFile> {
    if (!ARTIFACT_NAME.test(name)) throw notFound(name);
    const v = await this.resolveVersion(version);
    const manifest = await this.manifest(v);
    if (name === MANIFEST_FILE || name === SUMS_FILE) {
      const text = name === MANIFEST_FILE ? `${JSON.stringify(manifest, null, 2)}\n` : sha256Sums(manifest);
      return memoryFile(
        name,
        v,
        Buffer.from(text),
        name === MANIFEST_FILE ? 'application/json' : 'text/plain; charset=utf-8',
      );
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

  async #readSmall(path: string, what: string): Promise<string> {
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
      return await handle.readFile('utf8');
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
