// `npm start` runs this first: a fresh clone (`npm ci && npm start`) gets the web UI built once
// (~3 s), and a UI whose sources changed since its build is rebuilt; otherwise it costs one stat walk.
import { ensureUi } from './build/web-ui.ts';

const started = Date.now();
if (ensureUi()) process.stderr.write(`web UI built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
