import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { ReachError } from '@reach/protocol';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../log/logger.ts';

/** The built web UI (packages/web/build), or where it was looked for when it is missing. */
export type StaticUi = { built: true; dir: string } | { built: false; dir: string };

/** Paths the UI never answers: the API, live events, MCP, health and client downloads. */
const RESERVED = ['/api', '/ws', '/mcp', '/sse', '/messages', '/health', '/latest', '/releases'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

/** Vite's hashed output: its name changes with its content, so a browser may keep it a year. */
const IMMUTABLE_PREFIX = '/_app/immutable/';
const LONG_CACHE = 'public, max-age=31536000, immutable';

/**
 * Where the UI is: beside the sources in the repo (packages/web/build), or `ui/` beside the
 * bundled server (dist/npm/reach-server/ui). The first that has an index.html wins. A single
 * executable has no directory of its own (its bundle defines `import.meta.dirname` as undefined)
 * and carries no UI: undefined.
 */
export function defaultUiDir(): string | undefined {
  const here: string | undefined = import.meta.dirname;
  if (here === undefined) return undefined;
  const candidates = [join(here, '..', '..', '..', 'web', 'build'), join(here, 'ui')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0];
}

/** Looks for the built UI once at start-up; a missing build is logged once, with how to make it. */
export function locateStaticUi(dir: string | undefined, log?: Logger): StaticUi {
  if (dir === undefined) {
    log?.info(
      'this reach-server carries no web UI (single executable): / says so; run it from npm or source for the UI',
    );
    return { built: false, dir: '' };
  }
  if (existsSync(join(dir, 'index.html'))) {
    log?.info({ dir }, 'web ui served at /');
    return { built: true, dir };
  }
  log?.warn(
    { dir },
    'web ui not built: run `npm run build` (or `npm run build -w packages/web`); / says so meanwhile',
  );
  return { built: false, dir };
}

const NOT_BUILT_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reach</title></head>
<body><h1>Reach</h1><p>The web UI has not been built. Run <code>npm run build</code> (or
<code>npm run build -w packages/web</code>) and restart the server. The API (<code>/api</code>),
MCP (<code>/mcp</code>) and <code>/health</code> work without it.</p></body></html>`;

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
};

/** A request path inside `dir`, or null for one that tries to leave it (`..`, NUL, bad escapes). */
function fileOf(dir: string, path: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const file = normalize(join(dir, decoded));
  return file.startsWith(dir.endsWith(sep) ? dir : dir + sep) ? file : null;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Serves the single-page app for GET/HEAD outside the reserved paths: a file of the build when
 * one matches (precompressed .br/.gz when the browser takes them), else index.html so the
 * client-side router handles deep links (/clients/…). A missing asset (a path with an extension)
 * falls through to the app's JSON 404. Mounted before the bearer check: the files are public,
 * every datum behind them comes from /api.
 */
export function staticUi(ui: StaticUi): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    const path = c.req.path;
    if (
      (method !== 'GET' && method !== 'HEAD') ||
      RESERVED.some((p) => path === p || path.startsWith(`${p}/`))
    ) {
      return next();
    }
    if (!ui.built) {
      if (path !== '/') return next();
      const accept = c.req.header('accept') ?? '';
      if (!accept.includes('text/html')) {
        throw new ReachError('FILE_NOT_FOUND', 'the web UI has not been built', {
          recoveryHint: 'run `npm run build` (or `npm run build -w packages/web`) and restart the server',
        });
      }
      return c.html(NOT_BUILT_HTML, 404, SECURITY_HEADERS);
    }
    let file: string | null = null;
    if (path !== '/') {
      const candidate = fileOf(ui.dir, path);
      if (candidate !== null && (await isFile(candidate))) file = candidate;
      else if (extname(path) !== '') return next();
    }
    const target = file ?? join(ui.dir, 'index.html');
    const type = TYPES[extname(target)] ?? 'application/octet-stream';
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'content-type': type,
      'cache-control': path.startsWith(IMMUTABLE_PREFIX) && file !== null ? LONG_CACHE : 'no-cache',
      vary: 'accept-encoding',
    };
    const encodings = c.req.header('accept-encoding') ?? '';
    let body: Buffer | null = null;
    for (const [enc, suffix] of [
      ['br', '.br'],
      ['gzip', '.gz'],
    ] as const) {
      if (!encodings.includes(enc) || !(await isFile(target + suffix))) continue;
      body = await readFile(target + suffix);
      headers['content-encoding'] = enc;
      break;
    }
    body ??= await readFile(target);
    headers['content-length'] = String(body.length);
    if (method === 'HEAD') return c.body(null, 200, headers);
    return c.body(new Uint8Array(body), 200, headers);
  };
}
