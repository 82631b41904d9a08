// The web UI end to end: the built SPA served by a real reach-server (--transport http, API key
// set), real reach clients over loopback, Debian's Chromium through playwright-core. Steps run
// in order on one browser page, as an operator would use it; every step fails on a console error,
// an uncaught exception, a failed request or an HTTP error it did not announce.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser, Page } from 'playwright-core';
import { ensureUi } from '../../../scripts/build/web-ui.ts';
import {
  type ClientProcess,
  ROOT,
  type ServerProcess,
  startClient,
  startHttpServer,
} from '../../server/test/mcp/harness.ts';
import { launchChromium, PageWatch, screenshotDir } from './browser-harness.ts';

const API_KEY = `web-ui-${randomBytes(8).toString('hex')}`;
/** ≥ 50 MiB, as the issue asks: big enough that the upload streams and reports progress. */
const BIG_FILE_BYTES = 50 * 1024 * 1024 + 12_345;

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe('web UI in Chromium against a real server and clients', { timeout: 240_000 }, () => {
  let work: string;
  let shots: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  let base: string;
  let steady: ClientProcess;
  /** What `stty size` printed in the terminal step: the last thing its recording shows. */
  let sttySize = '';
  const clients: ClientProcess[] = [];

  before(async () => {
    // The test serves what the sources say: a missing or stale build is rebuilt (~3 s).
    ensureUi();
    work = await mkdtemp(join(tmpdir(), 'reach-web-ui-'));
    shots = screenshotDir(join(ROOT, 'packages', 'web', 'test-output'));
    server = await startHttpServer({ apiKey: API_KEY, args: ['--metrics-interval-s', '1'] });
    base = `http://127.0.0.1:${server.httpPort}`;
    browser = await launchChromium();
    const context = await browser.newContext({
      viewport: { width: 1280, height: 860 },
      acceptDownloads: true,
    });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    watch = new PageWatch(page);
  });

  after(async () => {
    await browser?.close();
    for (const c of clients) await c.stop();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a page load without a session redirects to sign-in', async () => {
    watch.expectHttpError(/\/api\/session$/, 401);
    await page.goto(`${base}/history`);
    await page.waitForURL(/\/login\?next=%2Fhistory$/);
    await page.getByLabel('API key').waitFor();
    watch.endExpected();
    watch.assertClean('redirect to sign-in');
  });

  test('a wrong key is refused with the server message', async () => {
    watch.expectHttpError(/\/api\/session$/, 401);
    await page.getByLabel('API key').fill('not-the-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /UNAUTHORIZED/);
    watch.endExpected();
    watch.assertClean('wrong key');
  });

  test('the right key signs in and returns to the page asked for', async () => {
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back where the redirect came from.
    await page.waitForURL(`${base}/history`);
    await page.getByRole('heading', { name: 'Command history' }).waitFor();
    watch.assertClean('sign in');
  });

  test('the dashboard shows a client appear when it connects and turn offline when killed, without a reload', async () => {
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('table', { name: 'Clients' }).waitFor();
    await page.locator('table[data-loaded="true"]').waitFor();
    // A marker a reload would erase.
    await page.evaluate(() => {
      (window as unknown as { noReload: boolean }).noReload = true;
    });
    const c = await startClient(server, { displayName: 'web-kill-me' });
    clients.push(c);
    const row = page.locator(`tr[data-uuid="${c.uuid}"]`);
    await row.and(page.locator('[data-status="online"]')).waitFor({ timeout: 30_000 });
    assert.match((await row.textContent()) ?? '', /web-kill-me/);
    c.proc.kill('SIGKILL');
    await row.and(page.locator('[data-status="offline"]')).waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { noReload?: boolean }).noReload), true);
    // The activity stream saw both.
    const log = page.getByRole('log', { name: 'Activity stream' });
    await log.getByText('web-kill-me connected').waitFor();
    await log.getByText(/web-kill-me disconnected/).waitFor();
    // Confined to the test's folder: the file browser's first listing (/) is refused.
    // /bin/sh, not the user's $SHELL: an interactive bash runs the user's ~/.bashrc, which on CI
    // images (pyenv init) takes longer to print a prompt than the terminal step waits.
    steady = await startClient(server, {
      displayName: 'web-steady',
      env: { REACH_ALLOWED_PATHS: work, SHELL: '/bin/sh' },
    });
    clients.push(steady);
    const steadyRow = page.locator(`tr[data-uuid="${steady.uuid}"][data-status="online"]`);
    await steadyRow.waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
    watch.assertClean('dashboard live');
  });

  test('the terminal runs echo, and stty size follows a resize', async () => {
    await page.goto(`${base}/clients/${steady.uuid}#Terminal`);
    await page.getByRole('tab', { name: 'Terminal', selected: true }).waitFor();
    await page.getByTestId('terminal-status').getByText('connected').waitFor({ timeout: 30_000 });
    const term = page.getByTestId('terminal');
    await term.click();
    await page.keyboard.type('echo "web-$((6*7))-ok"\n');
    await term.locator('.xterm-rows').getByText('web-42-ok').first().waitFor();

    const before = Number(await term.getAttribute('data-cols'));
    await page.setViewportSize({ width: 900, height: 700 });
    await page.waitForFunction(
      (cols) =>
        Number(document.querySelector('[data-testid="terminal"]')?.getAttribute('data-cols')) !== cols,
      before,
    );
    const cols = Number(await term.getAttribute('data-cols'));
    const rows = Number(await term.getAttribute('data-rows'));
    assert.ok(cols > 10 && cols < before, `narrower: ${before} → ${cols}`);
    await page.keyboard.type('clear; stty size\n');
    await term.locator('.xterm-rows').getByText(`${rows} ${cols}`, { exact: true }).waitFor();
    sttySize = `${rows} ${cols}`;
    await page.screenshot({ path: join(shots, 'terminal.png') });
    await page.setViewportSize({ width: 1280, height: 860 });
    watch.assertClean('terminal');
  });

  test('the terminal session replays from its recording: output in order, resizes applied', async () => {
    // Leaving the Terminal tab closes the session; its asciicast file is listed at once.
    await page.getByRole('tab', { name: 'Recordings' }).click();
    const table = page.locator('table[aria-label="Recordings"][data-loaded="true"]');
    await table.waitFor();
    assert.ok(Number(await table.getAttribute('data-count')) >= 1, 'the terminal step was recorded');
    await table
      .getByRole('button', { name: /^Replay the session started/ })
      .first()
      .click();
    const player = page.locator('[data-testid="recording-player"]');
    await page.locator('[data-testid="recording-player"][data-state="ready"]').waitFor();
    // Played in real time (pauses over 2 s cut short), the echo shows up as it did live.
    await player.getByRole('button', { name: 'Play', exact: true }).click();
    const replay = page.getByTestId('replay-terminal').locator('.xterm-rows');
    await replay.getByText('web-42-ok').first().waitFor();
    await player.getByRole('button', { name: 'Skip to end' }).click();
    await page.locator('[data-testid="recording-player"][data-state="ended"]').waitFor();
    // The end of the recording is the resized terminal's `stty size`, replayed at that size.
    await replay.getByText(sttySize, { exact: true }).waitFor();
    assert.match((await page.getByTestId('replay-position').textContent()) ?? '', /\(ended\)/);
    await page.screenshot({ path: join(shots, 'recording.png'), fullPage: true });
    watch.assertClean('recording replay');
  });

  test('a 50 MiB file uploaded through the file browser downloads back with the same sha256', async () => {
    const dir = join(work, 'files');
    await mkdir(dir);
    const src = join(work, 'big.bin');
    await writeFile(src, randomBytes(BIG_FILE_BYTES));
    const want = await sha256File(src);

    // The client's allowed paths do not include /, where the browser starts: the server's code shows.
    watch.expectHttpError(/\/files\?path=/, 403);
    await page.goto(`${base}/clients/${steady.uuid}#Files`);
    await page
      .getByRole('alert')
      .getByText(/PATH_DENIED/)
      .waitFor();
    watch.endExpected();
    await page.getByLabel('Path').fill(dir);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.locator(`table[data-path="${dir}"]`).waitFor();
    await page.getByLabel('Upload', { exact: true }).setInputFiles(src);
    const result = page.getByTestId('upload-result');
    await result.waitFor({ timeout: 120_000 });
    assert.match((await result.textContent()) ?? '', new RegExp(`sha256 ${want}`));
    const link = page.getByRole('link', { name: 'big.bin' });
    await link.waitFor();
    await page.screenshot({ path: join(shots, 'files.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const saved = join(work, 'downloaded.bin');
    await download.saveAs(saved);
    assert.equal(await sha256File(saved), want);
    assert.equal(await sha256File(join(dir, 'big.bin')), want, 'the client wrote the same bytes');

    watch.assertClean('files');
  });

  test('the metrics plots have points', async () => {
    await page.goto(`${base}/clients/${steady.uuid}#Metrics`);
    const points = page.getByTestId('metrics-points');
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid="metrics-points"]')?.getAttribute('data-points')) >= 2,
      undefined,
      { timeout: 30_000 },
    );
    assert.ok(Number(await points.getAttribute('data-points')) >= 2);
    for (const chart of ['cpu', 'memory', 'disk', 'network']) {
      await page.locator(`[data-chart="${chart}"] canvas`).waitFor();
    }
    await page.screenshot({ path: join(shots, 'metrics.png'), fullPage: true });
    watch.assertClean('metrics');
  });

  test('the history search finds a command run through MCP a moment earlier', async () => {
    const mcp = new Client({ name: 'web-ui-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
      }),
    );
    const marker = `web-history-${randomBytes(4).toString('hex')}`;
    const r = await mcp.callTool({
      name: 'run_command',
      arguments: { client_id: steady.uuid, cmd: `echo ${marker}` },
    });
    assert.notEqual(r.isError, true, JSON.stringify(r.content));
    await mcp.close();

    await page.getByRole('link', { name: 'History' }).click();
    await page.getByLabel('Search commands').fill(marker);
    await page.getByRole('button', { name: 'Search' }).click();
    const hit = page.getByRole('table', { name: 'Commands' }).getByText(`echo ${marker}`);
    await hit.waitFor();
    watch.assertClean('history');
  });

  test('sign out ends the session', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    watch.expectHttpError(/\/api\/session$/, 401);
    const status = await page.evaluate(async () => (await fetch('/api/session')).status);
    assert.equal(status, 401);
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login$/);
    watch.endExpected();
    watch.assertClean('sign out');
  });
});
