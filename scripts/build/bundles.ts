import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';

export const REPO = join(import.meta.dirname, '..', '..');

/** One bin of the repo: its entry, its package and the name it is published under. */
export interface BinTarget {
  /** `reach` or `reach-server`. */
  name: string;
  packageDir: string;
  entry: string;
}

export const BINS: readonly BinTarget[] = [
  { name: 'reach', packageDir: join(REPO, 'packages/client'), entry: 'src/bin.ts' },
  { name: 'reach-server', packageDir: join(REPO, 'packages/server'), entry: 'src/bin.ts' },
];

/** Lowest Node the npm bundles run on (node:sqlite unflagged, `with { type: 'json' }`). */
const NPM_TARGET = 'node22.18';

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  // Built-ins stay imports; node:sqlite is not in esbuild's list of built-ins, hence the pattern.
  external: ['node:*'],
  logLevel: 'warning',
  legalComments: 'none',
  sourcemap: false,
};

interface PackageJson {
  name: string;
  version: string;
  description?: string;
  dependencies?: Record<string, string>;
}

export function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Workspace packages are bundled in; their third-party dependencies become the bin's own. */
function publishedDependencies(packageDir: string): Record<string, string> {
  const deps: Record<string, string> = {};
  for (const [name, range] of Object.entries(readPackage(packageDir).dependencies ?? {})) {
    if (name.startsWith('@reach/')) {
      Object.assign(deps, publishedDependencies(join(REPO, 'packages', name.slice('@reach/'.length))));
    } else deps[name] = range;
  }
  return Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The manifest `npm pack` publishes for a bin: the workspace package (whose `bin` runs the .ts sources,
 * for development) with `bin` on the bundle, `files` limited to it, `engines`, and no `private`.
 */
export function publishedManifest(bin: BinTarget): Record<string, unknown> {
  const pkg = readPackage(bin.packageDir);
  return {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description ?? `Reach: ${bin.name}`,
    type: 'module',
    engines: { node: '>=22.18' },
    bin: { [bin.name]: `./${bin.name}.js` },
    files: [`${bin.name}.js`, 'README.md'],
    dependencies: publishedDependencies(bin.packageDir),
  };
}

/**
 * The npm bundle: our code and @reach/protocol (private, never published) in one ESM file,
 * third-party packages left as `dependencies` so npm installs them (and builds ssh2's native crypto
 * addon as usual). Runs without type stripping, which Node refuses under node_modules.
 */
export async function buildNpmBundle(bin: BinTarget, outfile: string): Promise<void> {
  await build({
    ...common,
    entryPoints: [join(bin.packageDir, bin.entry)],
    outfile,
    format: 'esm',
    target: NPM_TARGET,
    external: [...(common.external ?? []), ...Object.keys(publishedDependencies(bin.packageDir))],
  });
}

/**
 * A single executable's `require` sees only built-ins, so ssh2's `.node` addons cannot be loaded
 * from disk. Each `require('…/x.node')` becomes a module that reads the SEA asset `x.node`, writes
 * it to a private temp directory, `process.dlopen`s it and removes the file (Linux keeps the
 * mapping). Without the asset (targets we cannot build the addon for) it throws, and ssh2's own
 * try/catch falls back to its JavaScript ciphers.
 */
const seaNativeAddons: Plugin = {
  name: 'sea-native-addons',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => ({ path: basename(args.path), namespace: 'sea-addon' }));
    b.onLoad({ filter: /.*/, namespace: 'sea-addon' }, (args) => ({
      loader: 'js',
      contents: `
const sea = require('node:sea');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const bytes = sea.getRawAsset(${JSON.stringify(args.path)});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reach-addon-'));
const file = path.join(dir, ${JSON.stringify(args.path)});
try {
  fs.writeFileSync(file, new Uint8Array(bytes), { mode: 0o700 });
  process.dlopen(module, file);
} finally {
  try { fs.rmSync(dir, { recursive: true, force: true }); } catch {}
}
`,
    }));
  },
};

/** The SEA bundle: everything in one CommonJS file (a SEA's main is CommonJS on Node 24). */
export async function buildSeaBundle(bin: BinTarget, outfile: string): Promise<void> {
  await build({
    ...common,
    entryPoints: [join(bin.packageDir, bin.entry)],
    outfile,
    format: 'cjs',
    target: 'node24',
    // The PTY addon loads with its own require of a prebuilt per platform, which a SEA cannot
    // serve: left out, the client's lazy import fails and it simply lacks the `terminal`
    // capability (packages/client/src/terminal/load-pty.ts).
    external: [...(common.external ?? []), '@lydell/node-pty'],
    plugins: [seaNativeAddons],
    // CommonJS has no import.meta; the one reader (http/static-ui.ts, where the web UI's files
    // are) then knows the executable carries none, instead of esbuild's silently empty object.
    define: { 'import.meta.dirname': 'undefined' },
  });
}
