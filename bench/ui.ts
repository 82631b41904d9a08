/**
 * `node bench/ui.ts` (`npm run bench:ui`): the web UI's two figures.
 * (a) The dashboard's time to first render with 1,000 simulated clients (the fleet of
 *     bench:scale / bench:memory) in headless Chromium: navigation start → the full client table
 *     rendered (the dashboard marks `body[data-fleet-rendered]` on the frame after its list
 *     loaded). Target ≤ 1 s. A cold load (empty cache) and the median of warm loads.
 * (b) The UI bundle, gzip -9, without the terminal chunk (xterm.js, loaded when the Terminal tab
 *     opens). Target ≤ 250 KB.
 * bench/terminal.ts calls both exports beside its keystroke figures.
 *
 * Flags: --clients N (1000), --loads N (5).
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  authorizeSimKeys,
  connectManyClients,
  generateSimKeys,
} from '../packages/server/test/helpers/many-clients.ts';
import { spawnServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { launchChromium } from '../packages/web/test/browser-harness.ts';
import { ensureUi, UI_BUILD_DIR, WEB_DIR } from '../scripts/build/web-ui.ts';
import { median } from './lib/measure.ts';
import { waitOnline } from './lib/sim-fleet.ts';

export const FIRST_RENDER_TARGET_MS = 1000;
export const BUNDLE_TARGET_BYTES = 250 * 1000;

export interface FirstRender {
  clients: number;
  /** First load with an empty cache, ms from navigation start. */
  cold_ms: number;
  /** Median of the warm loads, ms. */
  warm_median_ms: number;
  warm_ms: number[];
}

/**
 * Starts a reach-server (HTTP on loopback, no API key: the UI needs no sign-in there) with
 * `clients` simulated clients online, and loads the dashboard `loads` times in Chromium.
 */
export async function dashboardFirstRender(
  opts: { clients?: number; loads?: number } = {},
): Promise<FirstRender> {
  const n = opts.clients ?? 1000;
  const loads = opts.loads ?? 5;
  ensureUi();
  const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-ui-'));
  // Every simulated client comes from 127.0.0.1: the per-source cap on handshakes in progress (the
  // SSH flood guard) is raised as bench:scale does.
  const server = await spawnServerProcess(dataDir, ['--max-unauthenticated-per-source', '1000']);
  const keys = generateSimKeys(n);
  await authorizeSimKeys(dataDir, keys);
  const fleet = await connectManyClients({
    port: server.sshPort,
    keys,
    tagsOf: (i) => ['sim', `rack-${i % 20}`],
  });
  const browser = await launchChromium();
  try {
    await waitOnline(server, n);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const times: number[] = [];
    for (let i = 0; i < loads + 1; i++) {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${server.httpPort}/`);
      await page.waitForFunction(() => document.body.dataset.fleetRendered !== undefined, undefined, {
        timeout: 60_000,
      });
      const rows = await page.locator('tbody tr[data-uuid]').count();
      if (rows !== n) throw new Error(`the dashboard shows ${rows} clients, not ${n}`);
      times.push(Number(await page.evaluate(() => document.body.dataset.fleetRendered)));
      await page.close();
    }
    const [cold, ...warm] = times;
    return {
      clients: n,
      cold_ms: Math.round(cold!),
      warm_median_ms: Math.round(median(warm)),
      warm_ms: warm.map(Math.round),
    };
  } finally {
    await browser.close();
    await fleet.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  src?: string;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}

export interface BundleSize {
  /** Every .js and .css file of the build but the terminal's, gzip -9, bytes. */
  gzip_bytes: number;
  /** The terminal chunk (TerminalPane + xterm.js + its CSS), gzip -9, bytes. */
  terminal_gzip_bytes: number;
  files: number;
}

/** Files reachable from `keys` by static and dynamic imports, skipping `exclude`. */
function reachable(
  manifest: Record<string, ManifestChunk>,
  keys: string[],
  exclude: Set<string>,
): Set<string> {
  const files = new Set<string>();
  const seen = new Set<string>();
  const walk = (key: string): void => {
    if (seen.has(key) || exclude.has(key)) return;
    seen.add(key);
    const chunk = manifest[key];
    if (!chunk) return;
    files.add(chunk.file);
    for (const css of chunk.css ?? []) files.add(css);
    for (const k of [...(chunk.imports ?? []), ...(chunk.dynamicImports ?? [])]) walk(k);
  };
  for (const k of keys) walk(k);
  return files;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (/\.(js|css)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The built UI's size (building it first when missing or stale), from Vite's manifest. */
export async function uiBundleSize(): Promise<BundleSize> {
  ensureUi();
  const manifestPath = join(WEB_DIR, '.svelte-kit', 'output', 'client', '.vite', 'manifest.json');
  statSync(manifestPath);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, ManifestChunk>;
  // The terminal chunk is what the two xterm.js views load lazily (the Terminal tab and the
  // Recordings tab's player): whatever only they reach, xterm.js and its CSS included.
  const terminalKeys = Object.keys(manifest).filter(
    (k) => k.endsWith('TerminalPane.svelte') || k.endsWith('RecordingsPane.svelte'),
  );
  if (terminalKeys.length !== 2)
    throw new Error(`terminal views in the manifest: ${terminalKeys.join(', ')}: are both still lazy?`);
  // Everything the app's entries reach without passing through those two (other lazy tabs too).
  const entries = Object.keys(manifest).filter((k) => manifest[k]?.isEntry && !terminalKeys.includes(k));
  const shared = reachable(manifest, entries, new Set(terminalKeys));
  const terminalOnly = [...reachable(manifest, terminalKeys, new Set())].filter((f) => !shared.has(f));
  const gz = (file: string): number => gzipSync(readFileSync(file), { level: 9 }).length;
  let total = 0;
  let terminal = 0;
  const files = await listFiles(join(UI_BUILD_DIR, '_app'));
  for (const f of files) {
    const size = gz(f);
    if (terminalOnly.includes(relative(UI_BUILD_DIR, f))) terminal += size;
    else total += size;
  }
  return { gzip_bytes: total, terminal_gzip_bytes: terminal, files: files.length };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { clients: { type: 'string', default: '1000' }, loads: { type: 'string', default: '5' } },
  });
  const kb = (b: number): string => `${(b / 1000).toFixed(1)} KB`;
  const size = await uiBundleSize();
  console.log(
    `ui bundle (gzip -9, without the terminal chunk): ${kb(size.gzip_bytes)} (target ≤ ${kb(BUNDLE_TARGET_BYTES)}); terminal chunk ${kb(size.terminal_gzip_bytes)}; ${size.files} files`,
  );
  const r = await dashboardFirstRender({ clients: Number(values.clients), loads: Number(values.loads) });
  console.log(
    `dashboard first render, ${r.clients} clients: cold ${r.cold_ms} ms, warm median ${r.warm_median_ms} ms [${r.warm_ms.join(', ')}] (target ≤ ${FIRST_RENDER_TARGET_MS} ms)`,
  );
}
