/**
 * Helpers for the release tests: the dist/release that `npm run release` wrote, copies of its
 * executables in a directory with nothing else in it, and a PATH with no `node` on it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { type ReleaseManifest, ReleaseManifestSchema } from '@reach/protocol';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const RELEASE = process.env.REACH_RELEASE_DIR ?? join(REPO, 'dist', 'release');

export function loadManifest(): ReleaseManifest {
  const file = join(RELEASE, 'release.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run release\` first`);
  return ReleaseManifestSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Copies `names` from dist/release into a fresh directory under the system temp dir. */
export async function isolatedCopies(names: readonly string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reach-release-bin-'));
  await mkdir(dir, { recursive: true });
  for (const n of names) {
    await copyFile(join(RELEASE, n), join(dir, n));
    await chmod(join(dir, n), 0o755);
  }
  return dir;
}

/**
 * A directory of symlinks to the few system tools the portable scripts and the test's commands use
 * (`/usr/bin` itself holds a `node` here, so it cannot be on the PATH).
 */
export async function toolsDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reach-release-tools-'));
  for (const tool of ['sh', 'dirname', 'cat', 'echo', 'ls', 'uname', 'mkdir', 'rm']) {
    const target = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (target) await symlink(target, join(dir, tool));
  }
  return dir;
}

/** True when no directory of `path` holds a `node`. */
export function noNodeOn(path: string): boolean {
  return path.split(delimiter).every((d) => !existsSync(join(d, 'node')));
}

/** An environment with only what the executables need: no NODE_* and no inherited node PATH. */
export function bareEnv(extra: Record<string, string>): Record<string, string> {
  return { LANG: 'C.UTF-8', TMPDIR: tmpdir(), ...extra };
}
