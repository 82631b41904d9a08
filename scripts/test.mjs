// The test command: lint and format check, typecheck, then every test file with node's runner.
// Runs on the node@24 that npm puts first on PATH (see package.json devDependencies).
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const only = process.argv.slice(2);
if (only.length === 0) {
  run('npx', ['biome', 'ci', '.']);
  run('npx', ['tsc', '-p', '.']);
}
const files =
  only.length > 0
    ? only
    : globSync(['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'], {
        exclude: (f) => f.includes('node_modules'),
      }).sort();
run(process.execPath, [
  '--test',
  '--test-concurrency=2',
  '--test-timeout=300000',
  '--test-reporter=spec',
  ...files,
]);
