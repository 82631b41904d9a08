#!/usr/bin/env node
// The installed `reach` command. JavaScript, so that the compile cache is on before the first
// TypeScript file loads (@reach/protocol/compile-cache says why: ~26 MiB of RSS).
import { startCompileCache } from '@reach/protocol/compile-cache';

startCompileCache();
await import('../src/bin.ts');
