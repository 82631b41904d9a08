// The compile cache's warm-up child (compile-cache.mjs, warmCompileCache): imports every module
// under the directories it is given into the cache REACH_COMPILE_CACHE names, then exits. Plain
// JavaScript, like its parent. A module that fails to load (an optional native addon) is skipped.
import { enableCompileCache, flushCompileCache } from 'node:module';
import { pathToFileURL } from 'node:url';
import { modulesUnder } from './compile-cache.mjs';

const dir = process.env.REACH_COMPILE_CACHE;
if (dir) enableCompileCache(dir);
for (const file of process.argv.slice(2).flatMap(modulesUnder)) {
  try {
    await import(pathToFileURL(file).href);
  } catch {
    // Skipped: the process that needs it loads (and strips) it itself.
  }
}
flushCompileCache();
process.exit(0);
