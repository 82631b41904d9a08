/**
 * Another revision of this repository, runnable beside the working tree: `git archive` of its
 * packages into a temp dir, with node_modules pointing at this tree's dependencies except the
 * workspace packages, which point at the extracted ones (so the baseline runs its own code).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export interface RevisionTree {
  /** The commit the tree was taken from. */
  commit: string;
  /** Root of the extracted tree. */
  root: string;
  /** Its server entry point. */
  serverBin: string;
  remove(): Promise<void>;
}

export async function extractRevision(ref: string): Promise<RevisionTree> {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], {
    cwd: ROOT,
    encoding: 'utf8',
  }).trim();
  const root = await mkdtemp(join(tmpdir(), 'reach-baseline-'));
  execFileSync(
    'sh',
    ['-c', `git archive ${commit} package.json packages test-support | tar -x -C "${root}"`],
    {
      cwd: ROOT,
    },
  );
  const modules = join(root, 'node_modules');
  await mkdir(join(modules, '@reach'), { recursive: true });
  for (const name of await readdir(join(ROOT, 'node_modules'))) {
    if (name === '@reach') continue;
    await symlink(join(ROOT, 'node_modules', name), join(modules, name));
  }
  for (const name of await readdir(join(root, 'packages'))) {
    await symlink(join('..', '..', 'packages', name), join(modules, '@reach', name));
  }
  return {
    commit,
    root,
    serverBin: join(root, 'packages/server/src/bin.ts'),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
