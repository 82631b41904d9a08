#!/usr/bin/env node
// The installed `reach` command. JavaScript, so that the compile cache is on before the first
// TypeScript file loads (@reach/protocol/compile-cache says why: ~26 MiB of RSS).
import { fileURLToPath } from 'node:url';
import { startCompileCache } from '@reach/protocol/compile-cache';

// This package's sources are warmed into the cache before the first start loads any (start.ts, not
// bin.ts: importing it starts nothing).
startCompileCache({ warm: [fileURLToPath(new URL('../src', import.meta.url))] });
const { start } = await import('../src/start.ts');
start();
