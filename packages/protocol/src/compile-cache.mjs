// Plain JavaScript on purpose: loading it must not load Node's TypeScript stripper (see below).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { enableCompileCache, flushCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's own sources: every launcher's modules import some of them. */
const PROTOCOL_SRC = dirname(fileURLToPath(import.meta.url));
const WARMER = join(PROTOCOL_SRC, 'compile-cache-warm.mjs');

/**
 * Turns on Node's on-disk compile cache for this process, so that from its second start on a
 * Reach process never loads the TypeScript stripper.
 *
 * Node runs our `.ts` sources by stripping their types with amaro, a WebAssembly build of swc,
 * loaded on the first `.ts` file and kept for the life of the process: an idle client measured
 * 120 MiB RSS with it and 94 MiB without it (26.6 MiB of its 29 MiB "external" memory is the
 * stripper's wasm heap and its 3.7 MiB source), a bare `node` on an empty `.ts` file 60 against
 * 42 MiB for the same file as `.js`. The compile cache keeps the stripped JavaScript (and V8's
 * code cache) keyed by file and content, so a process whose modules are all cached strips none.
 *
 * The cache lives under the user's own cache directory, mode 0700: entries are code this
 * process will run, so a directory other users can write (Node's default is under os.tmpdir())
 * would let them inject it. `REACH_COMPILE_CACHE=off` turns it off, another value names the
 * directory. Node writes new entries when the process exits; a long-running client or server
 * also flushes them once start-up is over, so a service that is only ever killed still fills it.
 * Failing to set it up (a read-only home) only costs the memory: it is never an error.
 */
/**
 * @param {{ warm?: string[] }} [opts] `warm`: the launcher's source directories, warmed into the
 *   cache before its first start (warmCompileCache); this package's own are added.
 */
export function startCompileCache(opts = {}) {
  const setting = process.env.REACH_COMPILE_CACHE;
  if (setting === 'off') return;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const dir = setting || join(base, 'reach', 'node-compile-cache');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    enableCompileCache(dir);
  } catch {
    return;
  }
  if (opts.warm) warmCompileCache(dir, [...opts.warm, PROTOCOL_SRC]);
  setTimeout(() => {
    try {
      flushCompileCache();
    } catch {
      // Best effort, as above.
    }
  }, 30_000).unref();
}

/**
 * A first start (a fresh install, an upgrade) would still strip its sources, and keep the
 * stripper for its whole life: a service started once runs for months with ~26 MiB it does not
 * need. So before it loads any module, a launcher whose sources are not all in the cache yet has
 * a child process import every module under `roots` (no tests, no bin.ts: those start things) into
 * the same cache, once per set of files (a marker named by a hash of Node's version and every
 * file's path, size and mtime). The child costs one start (~1–3 s) the first time; a failure only
 * costs the memory. Walking the sources to compute the marker takes a few ms per start.
 */
function warmCompileCache(dir, roots) {
  try {
    const hash = createHash('sha256').update(process.version);
    for (const file of roots.flatMap(modulesUnder).sort()) {
      const st = statSync(file);
      hash.update(`${file}\0${st.size}\0${st.mtimeMs}\n`);
    }
    const marker = join(dir, `warm-${hash.digest('hex').slice(0, 16)}`);
    if (existsSync(marker)) return;
    // The same V8 flags (V8 refuses code cached under other flags), but none that would make the
    // child run other code (`-e`, a preload) or open an inspector of its own.
    const warmed = spawnSync(process.execPath, [...flagsOnly(process.execArgv), WARMER, ...roots], {
      env: {
        ...process.env,
        NODE_OPTIONS: flagsOnly((process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)).join(' '),
        REACH_COMPILE_CACHE: dir,
      },
      stdio: 'ignore',
      timeout: 120_000,
    });
    if (warmed.status === 0) writeFileSync(marker, '', { mode: 0o600 });
  } catch {
    // Best effort, as above.
  }
}

/** Node's own flags as written (`--name` or `--name=value`), less those that run code or listen. */
function flagsOnly(args) {
  const runs =
    /^--(inspect|debug|eval|print|input-type|require|import|loader|experimental-loader|test|watch|env-file|run)/;
  return args.filter((a) => a.startsWith('--') && !runs.test(a));
}

/** The .ts modules under `root` a process may load: not tests, not the bin.ts entry points. */
export function modulesUnder(root) {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter(
      (e) =>
        e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'),
    )
    .filter((e) => e.name !== 'bin.ts')
    .map((e) => join(e.parentPath, e.name));
}
