import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { open, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { listProcesses, readProcStat } from '../spawner/proc-stat.ts';
import { type JobRecord, loadJobs, saveJob } from './job-record.ts';

async function isZombie(pid: number): Promise<boolean> {
  const line = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return line === '' || line.slice(line.lastIndexOf(')') + 2, line.lastIndexOf(')') + 3) === 'Z';
}

export type JobStream = 'stdout' | 'stderr';

export interface JobManagerOptions {
  /** `<state dir>/jobs`: one directory per job with job.json, stdout, stderr and exit. */
  dir: string;
  /** Bytes kept of each stream of one job; past it the first bytes stay, the rest is dropped. */
  maxJobBytes?: number;
  /** Bytes all jobs' output may take; the oldest finished jobs are pruned past it. */
  maxTotalBytes?: number;
  /** Between INT, TERM and KILL on cancel, in ms. */
  cancelGraceMs?: number;
  /** How often running jobs are checked (caps, jobs a previous run left), in ms. */
  pollMs?: number;
}

export interface StartJob {
  cmd: string;
  cwd: string;
  env: Record<string, string | undefined>;
  caller: string;
}

/**
 * Commands that outlive their RPC and the client itself. Each runs detached in its own process
 * group, deliberately NOT under the group watchdog (spawner/), writing straight into files in the
 * state directory, and a wrapper shell records its exit code in a file: so neither a dropped link
 * nor a client restart loses it. A restarted client finds a running job again by pgid and process
 * start time, or marks it `lost` with its output kept.
 */
export class JobManager {
  readonly #o: Required<JobManagerOptions>;
  readonly #jobs = new Map<string, JobRecord>();
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Jobs being cancelled: however #check sees them end, they end `cancelled`. */
  readonly #cancelling = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(o: JobManagerOptions) {
    this.#o = {
      maxJobBytes: 64 * 1024 * 1024,
      maxTotalBytes: 512 * 1024 * 1024,
      cancelGraceMs: 500,
      pollMs: 1000,
      ...o,
    };
  }

  /** Loads the jobs a previous run left and starts watching those still running. */
  async start(): Promise<void> {
    for (const job of await loadJobs(this.#o.dir)) {
      this.#jobs.set(job.id, job);
      if (job.status === 'running') await this.#check(job);
    }
    this.#timer = setInterval(() => void this.#tick(), this.#o.pollMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  list(): JobRecord[] {
    return [...this.#jobs.values()].sort((a, b) => a.started_at.localeCompare(b.started_at));
  }

  get(id: string): JobRecord | undefined {
    return this.#jobs.get(id);
  }

  async startJob(s: StartJob): Promise<JobRecord> {
    await this.#prune();
    const id = `job-${randomBytes(8).toString('hex')}`;
    const d = join(this.#o.dir, id);
    const job: JobRecord = {
      id,
      cmd: s.cmd,
      caller: s.caller,
      started_at: new Date().toISOString(),
      ended_at: null,
      status: 'running',
      exit_code: null,
      pgid: 0,
      proc_start: null,
      cap_hit: false,
    };
    await saveJob(this.#o.dir, job);
    // O_APPEND, so truncating a stream back to the cap (#tick) makes the writer continue there.
    const out = openSync(join(d, 'stdout'), 'a', 0o600);
    const err = openSync(join(d, 'stderr'), 'a', 0o600);
    try {
      // The wrapper records the exit code even when this client is gone by then.
      const child = spawn(
        '/bin/sh',
        ['-c', '/bin/sh -c "$0"; c=$?; echo $c > "$1.tmp"; mv "$1.tmp" "$1"', s.cmd, join(d, 'exit')],
        {
          cwd: s.cwd,
          env: s.env,
          detached: true,
          stdio: ['ignore', out, err],
        },
      );
      child.unref();
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      job.pgid = child.pid ?? 0;
      job.proc_start = (await readProcStat(job.pgid))?.start ?? null;
      child.once('exit', () => void this.#check(job));
    } finally {
      closeSync(out);
      closeSync(err);
    }
    await saveJob(this.#o.dir, job);
    this.#jobs.set(id, job);
    return job;
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
    const size = Math.min(
      await stat(file).then(
        (s) => s.size,
        () => 0,
      ),
      this.#o.maxJobBytes,
    );
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

  /** INT, then TERM, then KILL to the job's group, each after a grace; what is left after. */
  async cancel(id: string): Promise<{ job: JobRecord; stopped: boolean; pids: number[] } | undefined> {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    const members = async () => {
      if (job.pgid <= 0) return [];
      const pids = (await listProcesses()).filter((p) => p.pgrp === job.pgid).map((p) => p.pid);
      // Zombies have stopped already; only their parent (maybe a container's init) can reap them.
      const live = await Promise.all(pids.map(async (pid) => !(await isZombie(pid))));
      return pids.filter((_, i) => live[i]);
    };
    if (job.status === 'running') {
      this.#cancelling.add(id);
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
        if ((await members()).length === 0) break;
        try {
          process.kill(-job.pgid, sig);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, this.#o.cancelGraceMs));
      }
      await this.#check(job, 'cancelled');
    }
    const left = await members();
    return { job, stopped: left.length === 0, pids: left };
  }

  /** Whether a running job has ended (exit file, or its leader gone: lost), and caps. */
  async #check(job: JobRecord, ending: 'cancelled' | undefined = undefined): Promise<void> {
    if (job.status !== 'running') return;
    if (this.#cancelling.has(job.id)) ending = 'cancelled';
    const d = join(this.#o.dir, job.id);
    const exit = await readFile(join(d, 'exit'), 'utf8').catch(() => undefined);
    const st = job.pgid > 0 ? await readProcStat(job.pgid) : undefined;
    const alive = st !== undefined && st.start === job.proc_start && st.pgrp === job.pgid;
    if (exit === undefined && alive && ending === undefined) return;
    if (exit !== undefined) {
      job.status = ending ?? 'exited';
      job.exit_code = Number.parseInt(exit, 10);
    } else {
      job.status = ending ?? 'lost';
    }
    job.ended_at = new Date().toISOString();
    await this.#capStreams(job);
    await saveJob(this.#o.dir, job);
    for (const w of this.#waiters.get(job.id) ?? []) w();
    this.#waiters.delete(job.id);
  }

  async #capStreams(job: JobRecord): Promise<void> {
    for (const s of ['stdout', 'stderr']) {
      const file = join(this.#o.dir, job.id, s);
      const size = await stat(file).then(
        (x) => x.size,
        () => 0,
      );
      if (size > this.#o.maxJobBytes) {
        await truncate(file, this.#o.maxJobBytes);
        if (!job.cap_hit) {
          job.cap_hit = true;
          await saveJob(this.#o.dir, job);
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
  async #prune(): Promise<void> {
    const sizes = new Map<string, number>();
    let total = 0;
    for (const job of this.#jobs.values()) {
      let n = 0;
      for (const s of ['stdout', 'stderr'])
        n += await stat(join(this.#o.dir, job.id, s)).then(
          (x) => x.size,
          () => 0,
        );
      sizes.set(job.id, n);
      total += n;
    }
    for (const job of this.list()) {
      if (total <= this.#o.maxTotalBytes) break;
      if (job.status === 'running') continue;
      await rm(join(this.#o.dir, job.id), { recursive: true, force: true });
      this.#jobs.delete(job.id);
      total -= sizes.get(job.id) ?? 0;
    }
  }
}
