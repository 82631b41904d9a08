import { open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ReachError, type ReleaseArtifact } from '@reach/protocol';
import { checkArtifactFile } from './verify-release.ts';

export interface DownloadOptions {
  /** The update directory: the partial `<name>.part` and the finished `<name>` live here. */
  dir: string;
  signal?: AbortSignal | undefined;
}

/** Where the artifact's bytes come from: over the link (link-source.ts) or over HTTP. */
export interface ArtifactSource {
  /** For messages: the URL, or `the server (over the link)`. */
  describe: string;
  /**
   * Starts sending from byte `offset`. Resolves with the offset it really starts at (0 when the
   * source cannot resume) and a pump handing the bytes to `sink` in order, awaiting each.
   */
  open(
    offset: number,
    signal: AbortSignal | undefined,
  ): Promise<{ offset: number; pump(sink: (chunk: Uint8Array) => Promise<void>): Promise<void> }>;
}

/** An HTTP(S) GET of `url`, resumed with a Range request (the server's /releases route answers 206). */
export function httpSource(url: string, doFetch: typeof fetch = fetch): ArtifactSource {
  return {
    describe: url,
    open: async (offset, signal) => {
      let res: Response;
      try {
        res = await doFetch(url, {
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          signal: signal ?? null,
        });
      } catch (err) {
        throw new ReachError('CONNECTION_ERROR', `fetching ${url} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel();
        throw new ReachError('TRANSFER_FAILED', `fetching ${url}: HTTP ${res.status}`, {
          details: { status: res.status },
        });
      }
      return {
        offset: res.status === 200 ? 0 : offset,
        pump: async (sink) => {
          if (res.body) for await (const chunk of res.body) await sink(chunk);
        },
      };
    },
  };
}

/**
 * Fetches the artifact from `source` into `<dir>/<name>`, resuming a `<name>.part` a killed run
 * left, and checks size and SHA-256 against the signed manifest before it renames the partial into
 * place. Never more than the signed size is written: a source sending more is cut off with
 * INTEGRITY_ERROR. A full disk is UPDATE_REFUSED (disk_full).
 */
export async function downloadArtifact(
  source: ArtifactSource,
  artifact: ReleaseArtifact,
  opts: DownloadOptions,
): Promise<string> {
  const done = join(opts.dir, artifact.name);
  const part = `${done}.part`;
  if (
    await checkArtifactFile(done, artifact).then(
      () => true,
      () => false,
    )
  )
    return done;
  let offset = await stat(part).then(
    (s) => s.size,
    () => 0,
  );
  if (offset > artifact.size) {
    await unlink(part);
    offset = 0;
  }
  const opened = await source.open(offset, opts.signal);
  offset = opened.offset;
  const fh = await open(part, offset === 0 ? 'w' : 'a', 0o600);
  let written = offset;
  try {
    await opened.pump(async (chunk) => {
      if (written + chunk.length > artifact.size) {
        throw new ReachError(
          'INTEGRITY_ERROR',
          `${source.describe} sent more than the signed ${artifact.size} bytes`,
          { details: { reason: 'size_mismatch' } },
        );
      }
      await fh.write(chunk);
      written += chunk.length;
    });
    await fh.sync();
  } catch (err) {
    if (err instanceof ReachError && err.code === 'INTEGRITY_ERROR') throw err;
    throw (
      diskFull(err) ??
      new ReachError(
        'TRANSFER_FAILED',
        `the download of ${artifact.name} was cut off at ${written} of ${artifact.size} bytes; the next try resumes it`,
        {
          details: { reason: 'truncated', received: written, size: artifact.size },
          cause: err,
        },
      )
    );
  } finally {
    await fh.close();
  }
  try {
    await checkArtifactFile(part, artifact);
  } catch (err) {
    // A complete but wrong file cannot be resumed into a right one.
    if (written >= artifact.size) await unlink(part).catch(() => {});
    throw err;
  }
  await rename(part, done);
  return done;
}

/** ENOSPC/EDQUOT as the typed refusal; undefined for any other error. */
export function diskFull(err: unknown): ReachError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return undefined;
  return new ReachError('UPDATE_REFUSED', 'no space left for the update: nothing was replaced', {
    details: { reason: 'disk_full' },
    cause: err,
  });
}
