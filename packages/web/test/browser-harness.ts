// Debian's Chromium driven by playwright-core (no browser download), and a watch on a page that
// fails the test on any console error, uncaught exception, failed request or HTTP error the test
// did not announce beforehand.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Flags this machine's Chromium needs headless (no sandbox in the container, no GPU, no phoning home). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

interface Expected {
  url: RegExp;
  status: number;
  seen: boolean;
}

/** Collects what went wrong on a page; `expectHttpError` announces a refusal a step provokes on purpose. */
export class PageWatch {
  readonly problems: string[] = [];
  #expected: Expected[] = [];

  constructor(page: Page) {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      // Chromium logs every 4xx/5xx as "Failed to load resource"; announced ones are fine.
      const url = msg.location().url;
      if (msg.text().startsWith('Failed to load resource') && this.#isExpected(url)) return;
      this.problems.push(`console error: ${msg.text()} (${url})`);
    });
    page.on('pageerror', (err) => this.problems.push(`uncaught: ${err.message}`));
    page.on('requestfailed', (req) => {
      const reason = req.failure()?.errorText ?? '';
      // A download the browser hands to the download manager, and a navigation away from a
      // page with requests in flight, are aborted by design.
      if (reason === 'net::ERR_ABORTED') return;
      this.problems.push(`request failed: ${req.method()} ${req.url()} ${reason}`);
    });
    page.on('response', (res) => {
      if (res.status() < 400) return;
      const hit = this.#expected.find((e) => e.status === res.status() && e.url.test(res.url()));
      if (hit) hit.seen = true;
      else this.problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
    });
  }

  #isExpected(url: string): boolean {
    return this.#expected.some((e) => e.url.test(url));
  }

  expectHttpError(url: RegExp, status: number): void {
    this.#expected.push({ url, status, seen: false });
  }

  /** Clears the announced errors once their step is over, so a later identical error counts. */
  endExpected(): void {
    this.#expected = [];
  }

  /** Throws with every problem seen so far (and forgets them, so each step reports its own). */
  assertClean(step: string): void {
    const found = this.problems.splice(0);
    if (found.length > 0)
      throw new Error(`${step}: ${found.length} problem(s) on the page:\n${found.join('\n')}`);
  }
}

/** The folder screenshots go to, printed so a reader can find them. */
export function screenshotDir(root: string): string {
  const dir = join(root, 'screenshots');
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`web-ui screenshots: ${dir}\n`);
  return dir;
}
