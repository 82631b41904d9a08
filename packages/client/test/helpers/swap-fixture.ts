import { mkdir, mkdtemp, realpath, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { PathPolicy } from '../../src/agent/path-policy.ts';

/** The paths and policy of a check-then-use race test; read the fields inside tests and hooks. */
export interface SwapFixture {
  /** The suite's temp directory, realpath'd (so checked paths come back unchanged); removed after. */
  readonly root: string;
  /** `root/allowed`: the policy's only allowed path. */
  readonly allowed: string;
  /** `root/outside`: where the swapped-in symlink leads; emptied before each test. */
  readonly outside: string;
  /** This test's own directory, `allowed/case-<n>/<dirName>`, made fresh before each test. */
  readonly dir: string;
  /** A policy allowing `allowed` only. */
  readonly policy: PathPolicy;
  /** Moves `target` (default `dir`) aside to `${target}-moved` and puts a symlink to `outside` in its place. */
  swapDir(target?: string): Promise<void>;
}

export interface SwapFixtureOptions {
  /** The last component of `dir`; default `'dir'`. */
  dirName?: string;
  /** Writes each test's files once `dir` and an empty `outside` exist. */
  fill?: (fx: SwapFixture) => Promise<void>;
}

/**
 * The set-up shared by the check-then-use race tests. A handler checks a path against the policy,
 * then opens it; in between, a local user who can write under the allowed root could rename a
 * directory on that path and put a symlink to somewhere outside in its place, so the open lands
 * outside. The tests run that race deterministically: check, `swapDir()`, then the step after the
 * check, which must see the swap on what it opened and refuse.
 *
 * Registers `before`, `beforeEach` and `after` hooks in the calling `describe` (call it there,
 * before the suite's own hooks that read the fields). `prefix` names the temp directory.
 */
export function useSwapFixture(prefix: string, options: SwapFixtureOptions = {}): SwapFixture {
  const { dirName = 'dir', fill } = options;
  let root = '';
  let allowed = '';
  let outside = '';
  let dir = '';
  let policy: PathPolicy | undefined;
  let n = 0;
  const fx: SwapFixture = {
    get root() {
      return root;
    },
    get allowed() {
      return allowed;
    },
    get outside() {
      return outside;
    },
    get dir() {
      return dir;
    },
    get policy() {
      if (!policy) throw new Error('useSwapFixture: policy is set in before(); read it in a test');
      return policy;
    },
    swapDir: async (target = dir) => {
      await rename(target, `${target}-moved`);
      await symlink(outside, target);
    },
  };

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), prefix)));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    await mkdir(allowed);
    policy = new PathPolicy([allowed]);
  });
  beforeEach(async () => {
    n += 1;
    dir = join(allowed, `case-${n}`, dirName);
    await mkdir(dir, { recursive: true });
    await rm(outside, { recursive: true, force: true });
    await mkdir(outside);
    await fill?.(fx);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  return fx;
}
