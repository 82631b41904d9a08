import { readFile } from 'node:fs/promises';
import { listProcesses } from '../spawner/proc-stat.ts';

/** How often a stopping group is looked at during its grace (one /proc scan, ~1–3 ms). */
const POLL_MS = 20;

async function isZombie(pid: number): Promise<boolean> {
  const line = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return line === '' || line.slice(line.lastIndexOf(')') + 2, line.lastIndexOf(')') + 3) === 'Z';
}

/** Live members of process group `pgid` (zombies have stopped already: only their parent reaps them). */
export async function groupMembers(pgid: number): Promise<number[]> {
  if (pgid <= 0) return [];
  const pids = (await listProcesses()).filter((p) => p.pgrp === pgid).map((p) => p.pid);
  const live = await Promise.all(pids.map(async (pid) => !(await isZombie(pid))));
  return pids.filter((_, i) => live[i]);
}

/**
 * Sends each of `signals` to the group in turn while any member is left, `graceMs` apart, and
 * returns the pids still alive after the last: empty when everything stopped.
 */
export async function stopGroup(
  pgid: number,
  signals: readonly NodeJS.Signals[],
  graceMs: number,
): Promise<number[]> {
  for (const sig of signals) {
    if ((await groupMembers(pgid)).length === 0) break;
    try {
      process.kill(-pgid, sig);
    } catch {
      break;
    }
    // Up to the grace, but no longer than the group takes to go: a cancelled command's caller
    // (and the operation journal) learns of its end as soon as it has ended, not 500 ms later.
    const until = Date.now() + graceMs;
    while (Date.now() < until && (await groupMembers(pgid)).length > 0) {
      await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, until - Date.now()))));
    }
  }
  return groupMembers(pgid);
}
