import { createHash, randomBytes } from 'node:crypto';
import { type JobRunResult, ReachError, type RunCommandResult, toReachError } from '@reach/protocol';
import type { ClientService, ClientView } from '../clients/client-service.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { foldNames } from './fold-names.ts';

export type RowState = 'ok' | 'failed' | 'running' | 'offline' | 'error' | 'timeout' | 'cancelled';

/** One client's part of a fan-out. */
export interface FanoutRow {
  uuid: string;
  name: string;
  state: RowState;
  returncode?: number | null;
  /** The client's job (`job-…`, not yet tool-named) while or after it ran past the wait. */
  job_id?: string;
  error?: { code: string; message: string };
  /** Output group (sha256 of exit code and both streams) once finished. */
  group?: string;
  duration_ms?: number;
}

interface Output {
  returncode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
}

export interface FanoutSpec {
  cmd: string;
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  timeout: number;
  /** Seconds the call waits for every client before answering with what it has. */
  wait: number;
  maxParallel: number;
  caller: string;
  maxOutputBytes: number;
}

export interface FanoutDeps {
  clients: ClientService;
  rateLimiter: RateLimiter;
  /** A client's row is final (audit row, webhook); jobs are reported by the job watcher instead. */
  onRowDone?: (f: Fanout, row: FanoutRow, output: Output | undefined) => void;
  /** A client's command outlived the wait and became a job: follow it. */
  onJob?: (uuid: string, jobId: string) => void;
  /** Rate-limit overrides of one client. */
  limitsOf: (uuid: string) => { rpm?: number; concurrent?: number };
}

const FINAL: ReadonlySet<RowState> = new Set(['ok', 'failed', 'offline', 'error', 'timeout', 'cancelled']);
const GRACE_MS = 5_000;
/** How long past its wait a fan-out waits for clients still answering (their job ids). */
const ANSWER_GRACE_MS = 3_000;
/** Of each client's wait, left for its answer to travel: the fan-out's answer can then name its job. */
const ANSWER_MARGIN_S = 0.3;
/** Shown of each group's output: the tail, which is where a failure says why. */
const GROUP_TAIL_CHARS = 2_000;
/** job_wait per call while following a client's job (under the 60 s link call deadline). */
const FOLLOW_WAIT_S = 50;

const sha = (o: Output) =>
  createHash('sha256').update(`${o.returncode}\0${o.stdout}\0${o.stderr}`).digest('hex').slice(0, 16);
const tail = (s: string) => (s.length > GROUP_TAIL_CHARS ? `…${s.slice(-GROUP_TAIL_CHARS)}` : s);

/**
 * One command on many clients (run_on_clients): at most `maxParallel` calls in flight, each
 * under its client's rate limit; a client past the wait goes on as a job and is followed here
 * until it ends. Answers are grouped by identical exit code and output, so N equal answers are
 * shown once with their clients folded (ClusterShell's clubak).
 */
export class Fanout {
  readonly id = `fan-${randomBytes(8).toString('hex')}`;
  readonly startedAt = Date.now();
  readonly rows = new Map<string, FanoutRow>();
  readonly #outputs = new Map<string, Output>();
  readonly #abort = new AbortController();
  readonly #deps: FanoutDeps;
  readonly spec: FanoutSpec;
  readonly #changed = new Set<() => void>();
  endedAt: number | undefined;

  constructor(deps: FanoutDeps, spec: FanoutSpec, targets: readonly ClientView[]) {
    this.#deps = deps;
    this.spec = spec;
    for (const c of targets) {
      this.rows.set(c.uuid, {
        uuid: c.uuid,
        name: c.display_name || c.uuid,
        state: c.online ? 'running' : 'offline',
      });
    }
    for (const row of this.rows.values()) if (row.state === 'offline') this.#done(row, undefined);
    // #one catches each client's failure; a bug past that ends the fan-out rather than the server.
    void this.#run(targets.filter((c) => c.online))
      .catch(() => undefined)
      .finally(() => {
        this.endedAt = Date.now();
        this.#notify();
      });
  }

  get running(): boolean {
    return this.endedAt === undefined;
  }

  /** cancel() was called (job_cancel, tasks/cancel, or the caller gave up on run_on_clients). */
  get cancelled(): boolean {
    return this.#abort.signal.aborted;
  }

  /**
   * Resolves when every row is final, or after `ms` once every client has answered (with its
   * result or its job id: each was asked to wait less than `ms`, so the answer can name its job),
   * and at the latest `ANSWER_GRACE_MS` later; or when `signal` aborts.
   */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + ms;
    const last = deadline + ANSWER_GRACE_MS;
    while (this.running && !signal?.aborted) {
      const now = Date.now();
      const answered = [...this.rows.values()].every((r) => FINAL.has(r.state) || r.job_id !== undefined);
      if (now >= last || (now >= deadline && answered)) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, (now < deadline ? deadline : last) - now));
        const onAbort = () => done();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#changed.add(done);
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
      });
      this.#changed.clear();
    }
  }

  /** Wakes waiters: a row became final or named its job. */
  #notify(): void {
    for (const w of this.#changed) w();
  }

  /** Stops what still runs: in-flight calls are aborted, running jobs cancelled. */
  async cancel(): Promise<void> {
    this.#abort.abort();
    await Promise.all(
      [...this.rows.values()]
        .filter((r) => r.state === 'running' && r.job_id !== undefined)
        .map(async (r) => {
          try {
            const c = await this.#deps.clients.call(
              r.uuid,
              'job_cancel',
              { job_id: r.job_id ?? '' },
              { timeoutMs: 15_000 },
            );
            if (r.state !== 'running') return; // it ended meanwhile, and #follow saw it
            r.state = c.job.status === 'exited' ? (c.job.exit_code === 0 ? 'ok' : 'failed') : 'cancelled';
            if (c.outcome === 'unstopped')
              r.error = { code: 'UNSTOPPED', message: `pids left: ${c.pids.join(' ')}` };
          } catch (err) {
            const e = toReachError(err);
            r.state = 'error';
            r.error = { code: e.code, message: `cancel failed: ${e.message.slice(0, 200)}` };
          }
          this.#done(r, undefined);
        }),
    );
  }

  counts() {
    const c = { ok: 0, failed: 0, running: 0, offline: 0, error: 0, timeout: 0, cancelled: 0 };
    for (const r of this.rows.values()) c[r.state] += 1;
    return c;
  }

  recap(): string {
    const c = this.counts();
    const parts = [`ok ${c.ok}`, `failed ${c.failed}`, `offline ${c.offline}`, `timeout ${c.timeout}`];
    if (c.running > 0) parts.push(`running ${c.running}`);
    if (c.error > 0) parts.push(`error ${c.error}`);
    if (c.cancelled > 0) parts.push(`cancelled ${c.cancelled}`);
    return parts.join(' · ');
  }

  /** Identical answers once each, biggest group first; errors grouped by code. */
  groups() {
    const byKey = new Map<string, FanoutRow[]>();
    for (const r of this.rows.values()) {
      const key = r.group ?? (r.error ? `error:${r.error.code}` : `state:${r.state}`);
      byKey.set(key, [...(byKey.get(key) ?? []), r]);
    }
    return [...byKey.entries()]
      .sort((a, b) => b[1].length - a[1].length)
      .map(([key, rows]) => {
        const out = rows[0]?.group ? this.#outputs.get(rows[0].group) : undefined;
        return {
          count: rows.length,
          clients: foldNames(rows.map((r) => r.name)),
          state: rows[0]?.state ?? 'error',
          ...(out
            ? {
                returncode: out.returncode,
                stdout: tail(out.stdout),
                stderr: tail(out.stderr),
                truncated: out.truncated,
              }
            : {}),
          ...(rows[0]?.error && !out ? { error: rows[0].error.code, message: rows[0].error.message } : {}),
          ...(key.startsWith('state:') ? {} : { group: key }),
        };
      });
  }

  async #run(online: readonly ClientView[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < online.length && !this.#abort.signal.aborted) {
        const c = online[next++];
        if (c) await this.#one(c);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.spec.maxParallel, online.length) }, worker));
    for (const r of this.rows.values()) {
      if (r.state === 'running' && r.job_id === undefined)
        this.#done(Object.assign(r, { state: 'cancelled' }), undefined);
    }
  }

  async #one(c: ClientView): Promise<void> {
    const row = this.rows.get(c.uuid)!;
    const started = Date.now();
    let release: () => void = () => undefined;
    try {
      release = this.#deps.rateLimiter.acquire(c.uuid, this.#deps.limitsOf(c.uuid));
      const waitS = Math.max(0, this.spec.wait - (Date.now() - this.startedAt) / 1000 - ANSWER_MARGIN_S);
      const base = {
        cmd: this.spec.cmd,
        timeout: this.spec.timeout,
        max_output_bytes: this.spec.maxOutputBytes,
        ...(this.spec.cwd === undefined ? {} : { cwd: this.spec.cwd }),
        ...(this.spec.env === undefined ? {} : { env: this.spec.env }),
      };
      const opts = { signal: this.#abort.signal };
      const result: JobRunResult = c.capabilities.includes('jobs')
        ? await this.#deps.clients.call(
            c.uuid,
            'job_run',
            { ...base, wait: Math.min(50, waitS), caller: this.spec.caller },
            { ...opts, timeoutMs: waitS * 1000 + GRACE_MS },
          )
        : await this.#deps.clients.call(c.uuid, 'run_command', base, {
            ...opts,
            timeoutMs: this.spec.timeout * 1000 + GRACE_MS,
          });
      row.duration_ms = Date.now() - started;
      if ('job_id' in result) {
        row.job_id = result.job_id;
        this.#notify();
        this.#deps.onJob?.(c.uuid, result.job_id);
        release();
        release = () => undefined;
        await this.#follow(row);
        return;
      }
      this.#finish(row, result);
    } catch (err) {
      const e = toReachError(err);
      row.duration_ms = Date.now() - started;
      row.state = e.code === 'COMMAND_TIMEOUT' ? 'timeout' : e.code === 'CANCELLED' ? 'cancelled' : 'error';
      row.error = { code: e.code, message: e.message.slice(0, 300) };
      this.#done(row, undefined);
    } finally {
      release();
    }
  }

  #finish(row: FanoutRow, r: Pick<RunCommandResult, 'returncode' | 'stdout' | 'stderr' | 'truncated'>): void {
    const out: Output = {
      returncode: r.returncode,
      stdout: r.stdout,
      stderr: r.stderr,
      truncated: r.truncated,
    };
    const key = sha(out);
    this.#outputs.set(key, out);
    row.group = key;
    row.returncode = r.returncode;
    row.state = r.returncode === 0 ? 'ok' : 'failed';
    this.#done(row, out);
  }

  /** A client's job, with job_wait until it ends; its first 128 KiB per stream are its answer. */
  async #follow(row: FanoutRow): Promise<void> {
    const id = row.job_id ?? '';
    while (!this.#abort.signal.aborted) {
      try {
        const w = await this.#deps.clients.call(
          row.uuid,
          'job_wait',
          { job_id: id, timeout: FOLLOW_WAIT_S, stdout_offset: 0, stderr_offset: 0 },
          { timeoutMs: FOLLOW_WAIT_S * 1000 + GRACE_MS + 10_000, signal: this.#abort.signal },
        );
        if (w.status === 'running') continue;
        row.duration_ms = w.elapsed_ms;
        if (w.status === 'exited') {
          this.#finish(row, {
            returncode: w.exit_code ?? -1,
            stdout: w.stdout,
            stderr: w.stderr,
            truncated: w.more,
          });
        } else {
          row.state = w.status === 'timed_out' ? 'timeout' : w.status === 'cancelled' ? 'cancelled' : 'error';
          row.error = { code: w.status.toUpperCase(), message: `job ${w.status}` };
          this.#done(row, undefined);
        }
        return;
      } catch (err) {
        // The client went away: its job goes on there; job_status with the row's job_id follows it.
        const e = toReachError(err);
        if (this.#abort.signal.aborted) break;
        row.error = { code: e.code, message: `lost sight of the job: ${e.message.slice(0, 200)}` };
        return;
      }
    }
  }

  #done(row: FanoutRow, out: Output | undefined): void {
    if (!FINAL.has(row.state)) return;
    this.#notify();
    try {
      this.#deps.onRowDone?.(this, row, out);
    } catch {
      // An observer's failure must not fail the fan-out.
    }
  }
}

/** Fan-outs of the last hour (at most 64), for job_status/job_wait/job_output/job_cancel by id. */
export class FanoutStore {
  readonly #items = new Map<string, Fanout>();
  readonly #deps: FanoutDeps;

  constructor(deps: FanoutDeps) {
    this.#deps = deps;
  }

  start(spec: FanoutSpec, targets: readonly ClientView[]): Fanout {
    const f = new Fanout(this.#deps, spec, targets);
    this.#items.set(f.id, f);
    const hour = Date.now() - 3_600_000;
    for (const [id, old] of this.#items) {
      if (this.#items.size <= 64 && (old.endedAt ?? Date.now()) > hour) break;
      if (!old.running) this.#items.delete(id);
    }
    return f;
  }

  get(id: string): Fanout {
    const f = this.#items.get(id);
    if (!f) {
      throw new ReachError('JOB_NOT_FOUND', `no fan-out ${id} on this server`, {
        details: { job_id: id },
        recoveryHint:
          'fan-outs are kept an hour in the server memory; their client jobs keep their own job ids',
      });
    }
    return f;
  }
}
