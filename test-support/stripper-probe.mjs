// Preloaded with `--import` by compile-cache.test.ts: on exit, says whether this process loaded
// Node's TypeScript stripper (amaro, a WebAssembly build of swc kept for the process's life).
process.on('exit', () => {
  const loaded = process.moduleLoadList.some((m) => m.includes('internal/deps/amaro'));
  process.stderr.write(`stripper-loaded=${loaded}\n`);
});
