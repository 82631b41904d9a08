import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../log/logger.ts';
import { environHas, listProcesses, type ProcStat } from './proc-stat.ts';

/** The environment variable each command carries with its run id (README: "Commands"). */
export const RUN_ID_ENV = 'REACH_RUN_ID';

/** One running command's group as recorded on disk. */
const Entry = z.object({
  pgid: z.number().int().min(2),
  /** The leader's start time in clock ticks after boot (/proc/<pid>/stat field 22). */
  start: z.number().int().min(0),
  /** Random id in the command's environment (RUN_ID_ENV). */
  run_id: z.string().regex(/^[0-9a-f]{16}$/),
});
export type GroupEntry = z.infer<typeof Entry>;

/** What a start-up sweep did, for the log and the tests. */
export interface SweepReport {
  /** Groups killed whole: their leader was still the process recorded. */
  groups: number[];
  /** Processes killed one by one: the leader was gone, they carried the run id. */
  processes: number[];
  /** Entries whose processes were all gone, or whose pgid now names another process. */
  stale: number;
}

/**
 * The groups of running commands, one small file per group in `dir` (`<pgid>.json`), written after
 * spawn and removed when the command ends, so a client that died with its watchdog (both SIGKILLed,
 * the OOM killer, a cgroup kill) finds what it left behind at its next start. A pid alone is not
 * enough: once a group is gone its number may be reused, so the leader's start time and a run id
 * in the command's environment decide what is still ours (sweep()).
 */
export class GroupLedger {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #procDir: string;

  constructor(deps: { dir: string; log: Logger; procDir?: string }) {
    this.#dir = deps.dir;
    this.#log = deps.log;
    this.#procDir = deps.procDir ?? '/proc';
  }

  async record(entry: GroupEntry): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await writeFile(this.#file(entry.pgid), JSON.stringify(entry), { mode: 0o600 });
  }

  async remove(pgid: number): Promise<void> {
    await unlink(this.#file(pgid)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** The entries on disk; unreadable or malformed files are removed and left out. */
  async entries(): Promise<GroupEntry[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    const out: GroupEntry[] = [];
    for (const name of names.filter((n) => /^\d+\.json$/.test(n))) {
      const text = await readFile(join(this.#dir, name), 'utf8').catch(() => '');
      let parsed: z.ZodSafeParseResult<GroupEntry>;
      try {
        parsed = Entry.safeParse(JSON.parse(text));
      } catch {
        parsed = Entry.safeParse(undefined);
      }
      if (parsed.success && `${parsed.data.pgid}.json` === name) out.push(parsed.data);
      else await unlink(join(this.#dir, name)).catch(() => undefined);
    }
    return out;
  }

  /**
   * Kills what the entries on disk say a previous run left and removes the entries. A group is
   * killed whole only when its leader is the process recorded (same pid, same start time): the
   * kernel never hands out a pid that still names a live group, so that group is ours. With the
   * leader gone, a surviving member is killed only if its environment carries the entry's run id —
   * a pid reused for another group's leader, whose own children then share its number, is never
   * touched.
   */
  async sweep(): Promise<SweepReport> {
    const report: SweepReport = { groups: [], processes: [], stale: 0 };
    const entries = await this.entries();
    if (entries.length === 0) return report;
    const procs = await listProcesses(this.#procDir);
    const byPid = new Map<number, ProcStat>(procs.map((p) => [p.pid, p]));
    for (const e of entries) {
      const leader = byPid.get(e.pgid);
      if (leader && leader.start === e.start && leader.pgrp === e.pgid) {
        if (kill(-e.pgid)) report.groups.push(e.pgid);
      } else if (!leader) {
        let any = false;
        for (const p of procs.filter((q) => q.pgrp === e.pgid && q.start >= e.start)) {
          if (await environHas(p.pid, `${RUN_ID_ENV}=${e.run_id}`, this.#procDir)) {
            if (kill(p.pid)) report.processes.push(p.pid);
            any = true;
          }
        }
        if (!any) report.stale += 1;
      } else {
        report.stale += 1;
      }
      await this.remove(e.pgid);
    }
    if (report.groups.length + report.processes.length > 0) {
      this.#log.warn(report, 'killed commands a previous run of the client left running');
    }
    return report;
  }

  #file(pgid: number): string {
    return join(this.#dir, `${pgid}.json`);
  }
}

/** SIGKILL to a pid or (negative) a group; false when nothing was there. */
function kill(target: number): boolean {
  try {
    process.kill(target, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
