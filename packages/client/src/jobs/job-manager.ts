import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { hasExited } from '../spawner/child-exited.ts';
import type { GroupHold } from '../spawner/command-groups.ts';
import { readProcStat } from '../spawner/proc-stat.ts';
import type { ShellPool } from '../spawner/shell-pool.ts';
import { readExitFile, removeJobDir, sizeOf, streamSizes } from './job-dir.ts';
import { startJobProcess } from './job-process.ts';
import { type JobRecord, loadJobs, saveJob } from './job-record.ts';
import { stopGroup } from './job-signals.ts';

export type JobStream = 'stdout' | 'stderr';

export interface JobManagerOptions {
  /** `<state dir>/jobs`: one directory per job with job.json, stdout, stderr and exit. */
  dir: string;
  /** Bytes kept of each stream of one job; past it the first bytes stay, the rest is dropped. */
  maxJobBytes?: number;
  /** Bytes all jobs' output may take; the oldest finished jobs are pruned past it. */
  maxTotalBytes?: number;
  /** Between INT, TERM and KILL on cancel (and TERM and KILL on timeout), in ms. */
  cancelGraceMs?: number;
  /** How often running jobs are checked (caps, jobs a previous run left), in ms. */
  pollMs?: number;
  /** Ready shells a job starts through (spawner/shell-pool.ts); a plain spawn when none is ready. */
  pool?: ShellPool | undefined;
}

export interface StartJob {
  cmd: string;
  /** Where the shell starts: a path, or a held descriptor's /proc/<pid>/fd link. */
  cwd: string;
  /** The cwd as the caller named it, kept in the record (null: the default). */
  cwdName?: string | null;
  env: Record<string, string | undefined>;
  caller: string;
  /** Seconds after which the job's group is stopped and the job ends `timed_out`. */
  timeoutS?: number;
  /**
   * A provisional job: held by the group watchdog (it dies with the client) and not listed or
   * persisted until `promote`; `discard` removes it. run_command runs this way while it waits.
   */
  hold?: GroupHold;
}

/**
 * Commands that outlive their RPC and the client itself. Each runs detached in its own process
 * group, writing straight into files in the state directory, and a wrapper shell records its exit
 * code in a file: so neither a dropped link nor a client restart loses it. A restarted client finds
 * a running job again by pgid and process start time, or marks it `lost` with its output kept.
 * A provisional job (StartJob.hold) stays under the group watchdog until promoted.
 */
export class JobManager {
  readonly #o: Required<Omit<JobManagerOptions, 'pool'>>;
  readonly #pool: ShellPool | undefined;
  readonly #jobs = new Map<string, JobRecord>();
  readonly #holds = new Map<string, GroupHold>();
  /**
   * Leaders this run started, until their job ends: while one is unreaped its pid cannot be reused,
   * so its ChildProcess answers "running?" and "exit code?" without reading /proc or the exit file
   * (a /proc/<pid>/stat read just after the spawn took 1.2 ms p50 here: it waits out the exec).
   */
  readonly #children = new Map<string, ChildProcess>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Output bytes of ended jobs, read once (#bytesOf). */
  readonly #endedBytes = new Map<string, number>();
  /** Jobs being stopped on purpose: however #check sees them end, they end this way. */
  readonly #ending = new Map<string, 'cancelled' | 'timed_out'>();
  #timer: NodeJS.Timeout | undefined;

  constructor({ pool, ...o }: JobManagerOptions) {
    this.#o = {
      maxJobBytes: 64 * 1024 * 1024,
      maxTotalBytes: 512 * 1024 * 1024,
      cancelGraceMs: 500,
      pollMs: 1000,
      ...o,
    };
    this.#pool = pool;
  }

  /**
   * Loads the jobs a previous run left and watches those still running. Directories without a
   * record are provisional jobs of a previous run (their watchdog killed them): removed.
   */
  async start(): Promise<void> {
    const jobs = await loadJobs(this.#o.dir);
    const known = new Set(jobs.map((j) => j.id));
    for (const name of await readdir(this.#o.dir).catch(() => [] as string[])) {
      if (/^job-[0-9a-f]{16}$/.test(name) && !known.has(name)) {
        await removeJobDir(join(this.#o.dir, name));
      }
    }
    for (const job of jobs) {
      this.#jobs.set(job.id, job);
      if (job.status !== 'running') continue;
      await this.#check(job);
      if (job.status === 'running') this.#armTimeout(job);
    }
    this.#timer = setInterval(() => void this.#tick(), this.#o.pollMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  /** Promoted jobs, oldest first. */
  list(): JobRecord[] {
    return [...this.#jobs.values()]
      .filter((j) => !this.#holds.has(j.id))
      .sort((a, b) => a.started_at.localeCompare(b.started_at));
  }

  /** Status of any job, provisional ones included. */
  statusOf(id: string): JobRecord['status'] | undefined {
    return this.#jobs.get(id)?.status;
  }

  get(id: string): JobRecord | undefined {
    return this.#holds.has(id) ? undefined : this.#jobs.get(id);
  }

  async startJob(s: StartJob): Promise<JobRecord> {
    await this.#prune();
    const id = `job-${randomBytes(8).toString('hex')}`;
    const d = join(this.#o.dir, id);
    const job: JobRecord = {
      id,
      cmd: s.cmd,
      cwd: s.cwdName ?? null,
      caller: s.caller,
      started_at: new Date().toISOString(),
      ended_at: null,
      status: 'running',
      timeout_s: s.timeoutS ?? null,
      exit_code: null,
      pgid: 0,
      proc_start: null,
      cap_hit: false,
      reported: false,
    };
    mkdirSync(d, { recursive: true, mode: 0o700 });
    let child: ChildProcess;
    try {
      child = await startJobProcess({
        cmd: s.cmd,
        cwd: s.cwd,
        env: s.env,
        dir: d,
        hold: s.hold,
        pool: this.#pool,
      });
    } catch (e) {
      s.hold?.release();
      await removeJobDir(d);
      throw e;
    }
    job.pgid = child.pid ?? 0;
    // Its start time (what names the leader to a later run) is read when the record is first
    // written (#persist): a provisional job that ends within its wait never needs it.
    this.#children.set(id, child);
    this.#jobs.set(id, job);
    if (s.hold) this.#holds.set(id, s.hold);
    if (!s.hold) await this.#persist(job);
    this.#armTimeout(job);
    // Watched once listed (a check before that would end a job the manager does not hold yet); an
    // exit that came meanwhile (a pooled leader can even have exited before it was handed over) is
    // checked at once.
    if (hasExited(child)) void this.#check(job);
    else child.once('exit', () => void this.#check(job));
    return job;
  }

  /** Makes a provisional job a job: out of the watchdog's hold, persisted and listed. */
  async promote(id: string): Promise<JobRecord | undefined> {
    const job = this.#jobs.get(id);
    const hold = this.#holds.get(id);
    if (!job || !hold) return job;
    hold.release();
    this.#holds.delete(id);
    await this.#persist(job);
    return job;
  }

  /** Records that the server has reported the job's end; false when there is no such ended job. */
  async ack(id: string): Promise<boolean> {
    const job = this.get(id);
    if (!job || job.status === 'running') return false;
    if (!job.reported) {
      job.reported = true;
      await this.#persist(job);
    }
    return true;
  }

  /** Forgets a provisional job that has ended and removes its files. */
  async discard(id: string): Promise<void> {
    this.#holds.get(id)?.release();
    this.#holds.delete(id);
    this.#jobs.delete(id);
    this.#children.delete(id);
    this.#endedBytes.delete(id);
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    await removeJobDir(join(this.#o.dir, id));
  }

  /** Resolves when the job has ended or `ms` has passed, whichever is first. */
  async wait(id: string, ms: number, signal?: AbortSignal): Promise<JobRecord | undefined> {
    const job = this.#jobs.get(id);
    if (job?.status !== 'running') return job;
    await new Promise<void>((resolve) => {
      const set = this.#waiters.get(id) ?? new Set();
      this.#waiters.set(id, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
    return this.#jobs.get(id);
  }

  /** Bytes [offset, offset + limit) of one stream, with the stream's size so far. */
  async read(id: string, stream: JobStream, offset: number, limit: number) {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    const file = join(this.#o.dir, id, stream);
    const size = Math.min(await sizeOf(file), this.#o.maxJobBytes);
    const length = Math.max(0, Math.min(limit, size - offset));
    const buf = Buffer.alloc(length);
    if (length > 0) {
      const fh = await open(file, 'r');
      try {
        await fh.read(buf, 0, length, offset);
      } finally {
        await fh.close();
      }
    }
    return { data: buf, size, offset, eof: job.status !== 'running' && offset + length >= size };
  }

  /** Sizes of both streams so far (capped at the per-job cap). */
  async sizes(id: string): Promise<{ stdout_bytes: number; stderr_bytes: number }> {
    const cap = this.#o.maxJobBytes;
    const { stdout, stderr } = await streamSizes(join(this.#o.dir, id));
    return { stdout_bytes: Math.min(stdout, cap), stderr_bytes: Math.min(stderr, cap) };
  }

  /** INT, then TERM, then KILL to the job's group, each after a grace; what is left after. */
  async cancel(id: string): Promise<{ job: JobRecord; stopped: boolean; pids: number[] } | undefined> {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    const left = await this.#stop(job, 'cancelled', ['SIGINT', 'SIGTERM', 'SIGKILL']);
    return { job, stopped: left.length === 0, pids: left };
  }

  async #stop(
    job: JobRecord,
    ending: 'cancelled' | 'timed_out',
    signals: NodeJS.Signals[],
  ): Promise<number[]> {
    if (job.status === 'running') {
      this.#ending.set(job.id, ending);
      const left = await stopGroup(job.pgid, signals, this.#o.cancelGraceMs);
      await this.#check(job, true);
      return left;
    }
    return stopGroup(job.pgid, [], 0);
  }

  #armTimeout(job: JobRecord): void {
    if (job.timeout_s === null || job.status !== 'running') return;
    const ms = Date.parse(job.started_at) + job.timeout_s * 1000 - Date.now();
    const t = setTimeout(() => void this.#stop(job, 'timed_out', ['SIGTERM', 'SIGKILL']), Math.max(0, ms));
    t.unref();
    this.#timers.set(job.id, t);
  }

  async #persist(job: JobRecord): Promise<void> {
    if (this.#holds.has(job.id) || !this.#jobs.has(job.id)) return;
    const child = this.#children.get(job.id);
    if (job.proc_start === null && child && !hasExited(child)) {
      job.proc_start = (await readProcStat(job.pgid))?.start ?? null;
    }
    await saveJob(this.#o.dir, job);
  }

  /** Whether a running job has ended (exit file, or its leader gone: lost), and caps. */
  async #check(job: JobRecord, stopped = false): Promise<void> {
    const ending = this.#ending.get(job.id);
    // While a stop is under way only its own last check ends the job (its waiters then see a
    // group that is gone, not one between TERM and KILL).
    if (job.status !== 'running' || (ending !== undefined && !stopped)) return;
    // A leader of this run: its exit status is the job's (the wrapper exits with the command's
    // status); the exit file only matters when the wrapper itself was killed.
    const child = this.#children.get(job.id);
    if (child && !hasExited(child) && ending === undefined) return;
    // The leader first, then its exit file: the wrapper writes the file before it exits, so a
    // leader seen gone has left the file whole. The other order could read the file mid-write
    // (empty: `>` truncates first), then find the leader gone, and call an exited job lost.
    const alive = child ? !hasExited(child) : await this.#leaderAlive(job);
    const code = child?.exitCode ?? (await readExitFile(join(this.#o.dir, job.id, 'exit')));
    if (job.status !== 'running') return; // another #check ended it meanwhile
    if (Number.isNaN(code) && alive && ending === undefined) return;
    // Caps first: whoever sees the job ended (wait, get, a listing) sees its final output too.
    await this.#capStreams(job);
    if (job.status !== 'running') return;
    job.status = ending ?? (Number.isNaN(code) ? 'lost' : 'exited');
    job.exit_code = Number.isNaN(code) ? null : code;
    job.ended_at = new Date().toISOString();
    this.#ending.delete(job.id);
    this.#children.delete(job.id);
    clearTimeout(this.#timers.get(job.id));
    this.#timers.delete(job.id);
    await this.#persist(job);
    for (const w of this.#waiters.get(job.id) ?? []) w();
    this.#waiters.delete(job.id);
  }

  /** Whether a job's leader (of a previous run: by pid, start time and group) still runs. */
  async #leaderAlive(job: JobRecord): Promise<boolean> {
    const st = job.pgid > 0 ? await readProcStat(job.pgid) : undefined;
    return st !== undefined && st.start === job.proc_start && st.pgrp === job.pgid;
  }

  async #capStreams(job: JobRecord): Promise<void> {
    const d = join(this.#o.dir, job.id);
    const sizes = await streamSizes(d);
    // Truncated one by one: a cap hit is persisted once.
    for (const stream of ['stdout', 'stderr'] as const) {
      if (sizes[stream] > this.#o.maxJobBytes) {
        await truncate(join(d, stream), this.#o.maxJobBytes);
        if (!job.cap_hit) {
          job.cap_hit = true;
          await this.#persist(job);
        }
      }
    }
  }

  async #tick(): Promise<void> {
    for (const job of this.#jobs.values()) {
      if (job.status !== 'running') continue;
      await this.#capStreams(job).catch(() => undefined);
      await this.#check(job).catch(() => undefined);
    }
  }

  /** Removes the oldest finished jobs while all output together is over the per-client cap. */
  /**
   * Output bytes of one job. An ended job's output no longer grows, so it is read once: every
   * run_command that may become a job passes through #prune, and must not stat every job kept.
   */
  async #bytesOf(job: JobRecord): Promise<number> {
    const known = this.#endedBytes.get(job.id);
    if (known !== undefined) return known;
    const { stdout, stderr } = await streamSizes(join(this.#o.dir, job.id));
    const n = stdout + stderr;
    if (job.status !== 'running') this.#endedBytes.set(job.id, n);
    return n;
  }

  async #prune(): Promise<void> {
    let total = 0;
    for (const job of this.#jobs.values()) total += await this.#bytesOf(job);
    for (const job of this.list()) {
      if (total <= this.#o.maxTotalBytes) break;
      if (job.status === 'running') continue;
      total -= await this.#bytesOf(job);
      await removeJobDir(join(this.#o.dir, job.id));
      this.#jobs.delete(job.id);
      this.#children.delete(job.id);
      this.#endedBytes.delete(job.id);
    }
  }
}
