// The web UI's build (packages/web → packages/web/build), shared by `npm run build`, `npm start`,
// the browser tests and bench/ui.ts. A build takes ~3 s on this 2-core machine (vite + the
// adapter's precompression), so callers that only need *a* current build check staleness first.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..', '..');
export const WEB_DIR = join(REPO, 'packages', 'web');
export const UI_BUILD_DIR = join(WEB_DIR, 'build');
const VITE = join(REPO, 'node_modules', 'vite', 'bin', 'vite.js');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** True when build/index.html is missing or older than any source, config or static file. */
export function uiIsStale(): boolean {
  const index = join(UI_BUILD_DIR, 'index.html');
  if (!existsSync(index)) return true;
  const sources = ['src', 'static', 'vite.config.ts', 'package.json', 'tsconfig.json']
    .map((p) => join(WEB_DIR, p))
    .filter((p) => existsSync(p));
  return Math.max(...sources.map(newestMtime)) > statSync(index).mtimeMs;
}

/** `vite build` in packages/web, output on stderr; throws when it fails. */
export function buildUi(): void {
  const r = spawnSync(process.execPath, [VITE, 'build', '--logLevel', 'warn'], {
    cwd: WEB_DIR,
    stdio: ['ignore', 2, 2],
  });
  if (r.status !== 0) throw new Error(`web UI build failed (exit ${r.status ?? r.signal})`);
}

/** Builds the UI when it is missing or stale; returns whether it built. */
export function ensureUi(): boolean {
  if (!uiIsStale()) return false;
  buildUi();
  return true;
}
