import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** One job as persisted in `<state>/jobs/<id>/job.json` (so a restarted client finds it again). */
export const JobRecord = z.object({
  id: z.string().regex(/^job-[0-9a-f]{16}$/),
  cmd: z.string(),
  /** The working directory as the caller named it (null: the client's default). */
  cwd: z.string().nullable().default(null),
  caller: z.string(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  status: z.enum(['running', 'exited', 'cancelled', 'timed_out', 'lost']),
  /** The command's own timeout: its group is stopped (TERM, then KILL) that long after start. */
  timeout_s: z.number().positive().nullable().default(null),
  exit_code: z.number().int().nullable(),
  pgid: z.number().int(),
  /** Start time of the group leader in clock ticks after boot (/proc/<pid>/stat field 22). */
  proc_start: z.number().int().nullable(),
  /** Set when a stream outgrew the per-job cap: bytes past it are not kept. */
  cap_hit: z.boolean().default(false),
  /** The server has taken note of the job's end (its webhook and audit row are out): job_ack. */
  reported: z.boolean().default(false),
});
export type JobRecord = z.infer<typeof JobRecord>;
export type JobStatus = JobRecord['status'];

export const jobFile = (dir: string, id: string) => join(dir, id, 'job.json');

/** Writes the record by rename, so a crash leaves the old or the new one, never half of either. */
export async function saveJob(dir: string, job: JobRecord): Promise<void> {
  await mkdir(join(dir, job.id), { recursive: true, mode: 0o700 });
  const tmp = `${jobFile(dir, job.id)}.tmp`;
  await writeFile(tmp, JSON.stringify(job), { mode: 0o600 });
  await rename(tmp, jobFile(dir, job.id));
}

/** Every readable record under `dir`; unreadable ones are skipped (their output stays on disk). */
export async function loadJobs(dir: string): Promise<JobRecord[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const jobs: JobRecord[] = [];
  for (const name of names) {
    const text = await readFile(jobFile(dir, name), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      continue;
    }
    const parsed = JobRecord.safeParse(raw);
    if (parsed.success) jobs.push(parsed.data);
  }
  return jobs;
}
