// `npm run build`: for each bin, dist/npm/<bin>/ holds one bundled ESM file and the manifest to
// publish it with, and dist/npm/<name>-<version>.tgz is what `npm pack` makes of it (the registry
// tarball). `--no-pack` stops before packing.
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { BINS, buildNpmBundle, publishedManifest, REPO } from './build/bundles.ts';
import { buildUi, UI_BUILD_DIR } from './build/web-ui.ts';

export const NPM_DIST = join(REPO, 'dist', 'npm');

const pack = !process.argv.includes('--no-pack');
// The web UI first: the server's bundle ships it as ui/ (static-ui.ts looks there).
buildUi();
process.stderr.write(`build: ${relative(REPO, UI_BUILD_DIR)}\n`);
await rm(NPM_DIST, { recursive: true, force: true });
for (const bin of BINS) {
  const dir = join(NPM_DIST, bin.name);
  await mkdir(dir, { recursive: true });
  const out = join(dir, `${bin.name}.js`);
  await buildNpmBundle(bin, out);
  await chmod(out, 0o755);
  const manifest = publishedManifest(bin);
  if (bin.name === 'reach-server') {
    await cp(UI_BUILD_DIR, join(dir, 'ui'), { recursive: true });
    manifest.files = [...(manifest.files as string[]), 'ui'];
  }
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await copyFile(join(REPO, 'README.md'), join(dir, 'README.md'));
  if (pack) {
    const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', NPM_DIST], {
      cwd: dir,
      encoding: 'utf8',
    }).trim();
    process.stderr.write(`build: ${relative(REPO, join(NPM_DIST, name))}\n`);
  } else process.stderr.write(`build: ${relative(REPO, dir)}\n`);
}
