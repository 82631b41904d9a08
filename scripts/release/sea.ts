import { execFile } from 'node:child_process';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../build/bundles.ts';

const run = promisify(execFile);

/** Node's SEA fuse (docs: single-executable-applications, "Injecting the preparation blob"). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface BlobOptions {
  main: string;
  out: string;
  /** Asset name → file; read with `sea.getRawAsset(name)`. */
  assets: Record<string, string>;
  /**
   * V8's code cache is only valid for the Node binary that made it (this linux-x64 one); other
   * targets get a blob without it (PITFALLS: `useCodeCache: false` for other targets).
   */
  useCodeCache: boolean;
  /** Node options the executable always starts with (`process.execArgv`). */
  execArgv?: readonly string[];
}

/** Writes a SEA preparation blob with the running (pinned) Node. */
export async function makeBlob(o: BlobOptions): Promise<void> {
  const config = join(`${o.out}.json`);
  await writeFile(
    config,
    JSON.stringify({
      main: o.main,
      output: o.out,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: o.useCodeCache,
      execArgv: o.execArgv ?? [],
      assets: o.assets,
    }),
  );
  await run(process.execPath, ['--experimental-sea-config', config], { cwd: REPO });
}

export interface InjectOptions {
  node: string;
  blob: string;
  out: string;
  /** `strip` for the target's ELF, or none (PE: Windows' node.exe carries no symbols to strip). */
  strip: string | null;
}

/**
 * Copies the target's Node, strips its symbols (126 → 108 MB on linux-x64) and injects the blob
 * with postject. The Windows binary's Authenticode signature no longer matches afterwards; a
 * release that is signed must be signed after this step.
 */
export async function makeExecutable(o: InjectOptions): Promise<void> {
  await copyFile(o.node, o.out);
  await chmod(o.out, 0o755);
  if (o.strip !== null) await run(o.strip, ['--strip-all', o.out]);
  await run(
    process.execPath,
    [
      join(REPO, 'node_modules/postject/dist/cli.js'),
      o.out,
      'NODE_SEA_BLOB',
      o.blob,
      '--sentinel-fuse',
      SEA_FUSE,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
}
