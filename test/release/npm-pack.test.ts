/**
 * `npm run build`'s registry tarballs: installed with npm into an empty directory (no workspace,
 * no type stripping under node_modules), their bins run: `reach --version`, `reach-server --help`,
 * and the server starts (node:sqlite, the MCP SDK and hono load from the bundle's dependencies)
 * and serves the web UI packed beside its bundle.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { LogWatch } from '../../packages/server/test/mcp/harness.ts';
import { stopChild } from '../../test-support/stop-child.ts';
import { REPO } from './release-dir.ts';

const run = promisify(execFile);
const work = await mkdtemp(join(tmpdir(), 'reach-npm-pack-'));
after(() => rm(work, { recursive: true, force: true }));

// Node from the repo's devDependency first, as `npm run` would have it.
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };

test('npm pack tarballs install into an empty project and their bins run', async () => {
  await run(process.execPath, [join(REPO, 'scripts/build.ts')], { cwd: REPO, env });
  const dist = join(REPO, 'dist', 'npm');
  const tarballs = (await readdir(dist)).filter((f) => f.endsWith('.tgz')).sort();
  assert.equal(tarballs.length, 2);
  assert.match(tarballs[0] ?? '', /^reach-client-\d+\.\d+\.\d+\.tgz$/);
  assert.match(tarballs[1] ?? '', /^reach-server-\d+\.\d+\.\d+\.tgz$/);
  for (const t of tarballs) {
    const { stdout } = await run('tar', ['-tzf', join(dist, t)]);
    const files = stdout.trim().split('\n').sort();
    assert.ok(
      files.every((f) => !/\.test\.|\.ts$|\/test\/|\.map$/.test(f)),
      `${t} ships no tests, sources or source maps: ${files}`,
    );
    // Every tarball: the one bundle, its manifest and README. The server's also carries the built
    // web UI under ui/ (static-ui.ts serves it from beside the bundle), and nothing else.
    const top = files.filter((f) => !f.startsWith('package/ui/'));
    assert.equal(top.length, 3, `${t}: bundle, package.json, README.md: ${top}`);
    assert.ok(top.includes('package/package.json') && top.includes('package/README.md'), `${t}: ${top}`);
    const ui = files.filter((f) => f.startsWith('package/ui/'));
    if (t.startsWith('reach-server-')) {
      assert.ok(ui.includes('package/ui/index.html'), `${t} ships the web UI: ${ui.slice(0, 5)}`);
    } else assert.equal(ui.length, 0, `${t} ships no web UI`);
  }
  await writeFile(join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  // Scripts off: ssh2's addon build is npm's business; the bundle must run without it (JS ciphers).
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
      ...tarballs.map((t) => join(dist, t)),
    ],
    { cwd: work, env, timeout: 240_000 },
  );
  const bin = join(work, 'node_modules', '.bin');
  const v = await run(join(bin, 'reach'), ['--version'], {
    env: { ...env, NODE_OPTIONS: '--no-experimental-strip-types' },
  });
  assert.match(v.stdout, /^reach \d+\.\d+\.\d+ \(node \d+\.\d+\.\d+, ssh crypto: js\)\n$/);
  const h = await run(join(bin, 'reach-server'), ['--version'], { env });
  assert.match(h.stdout, /^reach-server \d+\.\d+\.\d+\n$/);

  const server = spawn(
    join(bin, 'reach-server'),
    [
      '--transport',
      'http',
      '--port',
      '0',
      '--ssh-port',
      '0',
      '--ssh-host',
      '127.0.0.1',
      '--data-dir',
      join(work, 'data'),
    ],
    { env: { ...env, NODE_OPTIONS: '--no-experimental-strip-types' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    const logs = new LogWatch(server.stderr!);
    const http = await logs.waitFor((l) => l.msg === 'http listening');
    const res = await fetch(`http://127.0.0.1:${http.port}/health`);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
    // The installed server serves the UI it was packed with, not the "not built" page.
    const page = await fetch(`http://127.0.0.1:${http.port}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.doesNotMatch(html, /has not been built/);
    assert.match(html, /<script|modulepreload/);
  } finally {
    await stopChild(server, 5000);
  }
});
