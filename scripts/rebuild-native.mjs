// Rebuilds ssh2's optional native crypto binding against the Node that runs npm scripts (node@24
// from devDependencies). The image's ~/.npmrc points node-gyp at Node 20 headers; an addon built
// against them fails to load on Node 24 and ssh2 silently falls back to slower JS crypto.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

// The `node` package keeps the real distribution (bin/, include/) in node_modules/node-<platform>.
const root = dirname(dirname(realpathSync(process.execPath)));
const nested = join(root, 'node_modules');
const candidates = [root, ...(existsSync(nested) ? readdirSync(nested).map((d) => join(nested, d)) : [])];
const nodeDir = candidates.find((d) => existsSync(join(d, 'include', 'node', 'node.h')));
if (!nodeDir) {
  console.error(`rebuild-native: no Node headers under ${root}; skipping`);
  process.exit(0);
}
const env = {
  ...process.env,
  npm_config_nodedir: nodeDir,
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
};
try {
  execFileSync('npm', ['rebuild', 'ssh2', 'cpu-features', '--foreground-scripts=false'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
} catch (err) {
  // The binding is optional; the test suite reports whether it loaded.
  console.error(`rebuild-native: rebuild failed (${err.message}); ssh2 will use JS crypto`);
}
