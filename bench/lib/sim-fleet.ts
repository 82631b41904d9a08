/**
 * A reach-server process and its simulated fleet as the scale benches read them: wait until N
 * clients are online, resident memory once settled, CPU time consumed. Used by bench:memory and
 * bench:scale.
 */
import { readFile } from 'node:fs/promises';
import { rssBytes, type ServerProcess } from '../../packages/server/test/helpers/server-process.ts';
import { collectGarbage, inspectorUrl } from './inspector-gc.ts';
import { median } from './measure.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `GET /health` until exactly `n` clients are online. */
export async function waitOnline(server: ServerProcess, n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await server.clientCounts()).online !== n) {
    if (Date.now() > deadline) throw new Error(`${n} clients not online within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/**
 * RSS in bytes: the median of five samples over about a second, after `settleMs`; with `forceGc`
 * (the server started with `--inspect=127.0.0.1:0`) two full GCs first, so only what stays live
 * is counted.
 */
export async function settledRss(
  server: ServerProcess,
  opts: { settleMs: number; forceGc?: boolean },
): Promise<number> {
  await sleep(opts.settleMs);
  if (opts.forceGc) {
    const url = inspectorUrl(server.stderr());
    if (!url) throw new Error(`server printed no inspector URL:\n${server.stderr()}`);
    await collectGarbage(url);
    await collectGarbage(url);
    await sleep(500);
  }
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(await rssBytes(server.pid));
    await sleep(200);
  }
  return median(samples);
}

/** CPU seconds (user + system) a process has used so far (Linux: /proc/<pid>/stat, 100 ticks/s). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
