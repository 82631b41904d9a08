import { readdir, readFile } from 'node:fs/promises';

/** What `/proc/<pid>/stat` says of one process (Linux; proc(5)). */
export interface ProcStat {
  pid: number;
  /** Parent pid (field 4). */
  ppid: number;
  /** Process group id (field 5). */
  pgrp: number;
  /** Session id (field 6): a terminal's shell and every job it started share it. */
  session: number;
  /** Start time after boot in clock ticks (field 22): with the pid, names one process for good. */
  start: number;
}

/**
 * Parses a `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and may hold
 * spaces or parentheses itself, so the fields are counted from the last `)`.
 */
export function parseProcStat(line: string): ProcStat | undefined {
  const close = line.lastIndexOf(')');
  const pid = Number.parseInt(line, 10);
  if (close < 0 || !Number.isSafeInteger(pid)) return undefined;
  // After ")": field 3 (state) is index 0, so field N is index N - 3.
  const f = line.slice(close + 2).split(' ');
  const ppid = Number(f[1]);
  const pgrp = Number(f[2]);
  const session = Number(f[3]);
  const start = Number(f[19]);
  if (!Number.isSafeInteger(ppid) || !Number.isSafeInteger(pgrp) || !Number.isSafeInteger(start))
    return undefined;
  return { pid, ppid, pgrp, session, start };
}

/** The stat of one process; undefined when it is gone (or there is no procfs). */
export async function readProcStat(pid: number, procDir = '/proc'): Promise<ProcStat | undefined> {
  const line = await readFile(`${procDir}/${pid}/stat`, 'utf8').catch(() => undefined);
  return line === undefined ? undefined : parseProcStat(line);
}

/** Every process procfs lists now; those that exit while it is read are left out. */
export async function listProcesses(procDir = '/proc'): Promise<ProcStat[]> {
  const names = await readdir(procDir).catch(() => [] as string[]);
  const stats = await Promise.all(
    names.filter((n) => /^\d+$/.test(n)).map((n) => readProcStat(Number(n), procDir)),
  );
  return stats.filter((s): s is ProcStat => s !== undefined);
}

/** Whether a process's initial environment (`/proc/<pid>/environ`) holds `entry` (`NAME=value`). */
export async function environHas(pid: number, entry: string, procDir = '/proc'): Promise<boolean> {
  const env = await readFile(`${procDir}/${pid}/environ`, 'utf8').catch(() => '');
  return env.split('\0').includes(entry);
}
