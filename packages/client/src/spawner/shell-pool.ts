import { type ChildProcess, spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { Logger } from '../log/logger.ts';
import { killPosixGroup } from '../platform/process-tree.ts';
import { hasExited } from './child-exited.ts';

/**
 * A pooled shell: `/bin/sh` spawned ahead of need (exactly as run_command spawns one: detached, so
 * it leads a session and process group of its own, signal dispositions reset by libuv, stdout and
 * stderr piped, the client's environment), waiting on its stdin for one request. It reads the
 * request (records below), `cd -P`s into the directory (the confirmed descriptor's
 * /proc/<pid>/fd link), puts PWD and OLDPWD back as they were, exports the variables that differ
 * from its environment, reports `S` on fd 3 and `exec`s `/bin/sh -c cmd` with stdin on /dev/null
 * and fd 3 closed. So the command is the process that was spawned: same pid, group, session,
 * parent, descriptors, `$0` and `$$` as a plain spawn, only started ~0.8 ms of exec instead of a
 * fork of the client. It never reports `S` if it cannot start the command as asked (`cd` failed:
 * exit 125, or it died): the caller then spawns the command the plain way, so the error is the one
 * a plain spawn gives and nothing runs twice. When the client dies its stdin closes and it exits.
 *
 * A record is a line holding the count of lines that follow it minus one, then those lines (a
 * value with k newlines is k + 1 lines): `read -r` is a builtin, so nothing forks while it reads.
 * Variable names are ours, prefixed `__reach_`, and never exported; a request whose environment
 * names one is spawned the plain way.
 *
 * A job (jobs/job-manager.ts) names its directory: the shell appends its stdout and stderr to the
 * files there (made 0600 by the manager), and instead of exec'ing it is the job's wrapper: it runs
 * `/bin/sh -c cmd` and writes the exit status to `exit`, as the manager's plain spawn of
 * `/bin/sh -c '/bin/sh -c "$0"; c=$?; echo $c > "$1"; exit $c'` does, one exec fewer.
 */
export const MEMBER_SCRIPT = `__reach_rr() {
  IFS= read -r __reach_n || exit 125
  IFS= read -r __reach_x || exit 125
  while [ "$__reach_n" -gt 0 ]; do
    IFS= read -r __reach_y || exit 125
    __reach_x="$__reach_x
$__reach_y"
    __reach_n=$((__reach_n - 1))
  done
}
IFS= read -r __reach_k || exit 125
__reach_rr; __reach_d=$__reach_x
__reach_rr; __reach_c=$__reach_x
__reach_rr; __reach_j=$__reach_x
__reach_p=\${PWD-} __reach_pq=\${PWD+1} __reach_o=\${OLDPWD-} __reach_oq=\${OLDPWD+1}
cd -P -- "$__reach_d" 2>/dev/null || exit 125
if [ -n "$__reach_pq" ]; then PWD=$__reach_p; else unset PWD; fi
if [ -n "$__reach_oq" ]; then OLDPWD=$__reach_o; else unset OLDPWD; fi
while [ "$__reach_k" -gt 0 ]; do
  __reach_rr; __reach_v=$__reach_x; __reach_rr
  export "$__reach_v=$__reach_x"
  __reach_k=$((__reach_k - 1))
done
if [ -n "$__reach_j" ]; then
  exec >>"$__reach_j/stdout" 2>>"$__reach_j/stderr" </dev/null
  printf S >&3
  exec 3>&-
  "$0" -c "$__reach_c"
  __reach_s=$?
  echo "$__reach_s" > "$__reach_j/exit"
  exit "$__reach_s"
fi
printf S >&3
exec "$0" -c "$__reach_c" 3>&- </dev/null
`;

/** A request larger than this is spawned the plain way: dash's `read` takes a pipe a byte per syscall. */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** Shells known to run MEMBER_SCRIPT with the same environment a plain spawn gives (bash adds SHLVL). */
const POOLED_SHELLS = new Set(['dash']);
/** Members that die before serving, in a row, after which the pool rests (plain spawn meanwhile). */
const MAX_FAILURES = 3;
const REST_MS = 30_000;
/** Quiet time after the last launch before the pool is refilled (see #scheduleFill). */
const REFILL_QUIET_MS = 10;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Env = Readonly<Record<string, string | undefined>>;

/** Whether `shell` (by what it resolves to) is one the pool runs on; false where it does not exist. */
export function poolableShell(shell: string): boolean {
  try {
    return POOLED_SHELLS.has(basename(realpathSync(shell)));
  } catch {
    return false;
  }
}

/** Encodes one value as a record (see MEMBER_SCRIPT). */
function record(value: string): string {
  const lines = value.split('\n');
  return `${lines.length - 1}\n${value}\n`;
}

export interface ShellPoolStats {
  /** Commands a member ran. */
  served: number;
  /** Requests handed back to be spawned the plain way (no member ready, not eligible, member failed). */
  declined: number;
  /** Members that exited before starting a command (killed, or `cd` failed). */
  failed: number;
}

/** A command started through the pool: its process, and its output as read since before the start. */
export interface Launched {
  child: ChildProcess;
  stdout: Readable;
  stderr: Readable;
}

interface Member {
  child: ChildProcess;
  /** Settles when the member has exited (or failed to spawn); never rejects. */
  gone: Promise<void>;
}

/** What ShellPool.launch is asked to start. */
export interface LaunchRequest {
  /** The shell the caller would spawn; only the pool's own is served. */
  file: string;
  cmd: string;
  /** Where it starts: a path, or a held descriptor's /proc/<pid>/fd link. */
  cwd: string;
  /** Exactly the command's environment. */
  env: Env;
  /** Gives up on a member still short of its ack (a `cd` into a hung mount): it is killed. */
  signal?: AbortSignal | undefined;
  /**
   * Told the member's pid (the command's, once it execs) before the request is sent: once sent,
   * the command will start even if this process dies the next instant, so its group is to be
   * held (the watchdog) from then on.
   */
  onPid?: ((pid: number) => void) | undefined;
  /** A job's directory (see MEMBER_SCRIPT): the output goes to its files, the status to `exit`. */
  jobDir?: string | undefined;
}

/**
 * Keeps `size` members (MEMBER_SCRIPT) ready and starts commands through them (`launch`). A member
 * is used once: it becomes the command. Replacements are spawned once launches pause
 * (#scheduleFill), so the fork of the client happens between commands, not before one. Members
 * that keep dying before they serve make the pool rest for REST_MS (launch declines: plain
 * spawn), then it fills again.
 */
export class ShellPool {
  readonly #shell: string;
  readonly #env: Env;
  readonly #size: number;
  readonly #log: Logger;
  readonly #script: string;
  readonly #ready: Member[] = [];
  #closed = false;
  #failures = 0;
  #restUntil = 0;
  #fillTimer: NodeJS.Timeout | undefined;
  readonly stats: ShellPoolStats = { served: 0, declined: 0, failed: 0 };

  readonly #refillQuietMs: number;

  constructor(deps: {
    env: Env;
    log: Logger;
    shell?: string;
    size?: number;
    script?: string;
    /** REFILL_QUIET_MS unless a test needs the pool full between quick commands. */
    refillQuietMs?: number;
  }) {
    this.#refillQuietMs = deps.refillQuietMs ?? REFILL_QUIET_MS;
    this.#shell = deps.shell ?? '/bin/sh';
    // A copy: process.env reads through to the C environment on every access (~40 variables read
    // twice per request cost ~0.2 ms of bench:rtt's p50), and members must all start with the same.
    this.#env = { ...deps.env };
    this.#size = deps.size ?? 2;
    this.#log = deps.log;
    this.#script = deps.script ?? MEMBER_SCRIPT;
  }

  /** Pids of the members waiting for a command (tests kill them). */
  get readyPids(): number[] {
    return this.#ready.map((m) => m.child.pid ?? 0);
  }

  /** Fills the pool at once (start-up has no command to delay). */
  start(): void {
    while (!this.#closed && this.#ready.length < this.#size && this.#fill()) {}
  }

  /**
   * Starts `/bin/sh -c cmd` in `cwd` with exactly `env` through a ready member. Resolves with the
   * member's process and output once it has changed directory and is exec'ing the command (so
   * whatever names `cwd` may be released; the command may even have exited), or undefined when
   * the caller is to spawn it the plain way: no member ready, a request the script cannot carry, a
   * member that failed before starting it (nothing of the command has run then), or `signal`
   * aborted first (then the caller must not start it at all).
   */
  async launch({ file, cmd, cwd, env, signal, onPid, jobDir }: LaunchRequest): Promise<Launched | undefined> {
    // A member first: back to back the pool is empty, and that answer costs nothing.
    const member = file === this.#shell && Date.now() >= this.#restUntil ? this.#take() : undefined;
    const request = member === undefined ? undefined : this.#encode(cmd, cwd, env, jobDir ?? '');
    if (member !== undefined && request === undefined) this.#ready.unshift(member);
    this.#scheduleFill();
    if (member === undefined || request === undefined) {
      this.stats.declined += 1;
      return undefined;
    }
    const child = member.child;
    const ack = child.stdio[3] as Readable;
    // Read from now on: once the child has exited, Node drains pipes nobody reads (flushStdio), and
    // a quick command can exit before its ack is read. The PassThroughs hold its output till then.
    const stdout = (child.stdout as Readable).pipe(new PassThrough());
    const stderr = (child.stderr as Readable).pipe(new PassThrough());
    // Whether it started is what fd 3 carries: `S`, or its end without one (the script closes it at
    // exec, a dead member with its death). Never the member's exit: a command as quick as `true`
    // can have exited by the time the loop looks, and its exit can be seen before the `S` that
    // preceded it, which would make it look unstarted and run it a second time.
    // A kill of the member's group before its ack: it leads that group, nothing else is in it yet.
    const giveUp = () => {
      if (child.pid !== undefined) killPosixGroup(child.pid, 'SIGKILL');
    };
    signal?.addEventListener('abort', giveUp, { once: true });
    const started = await new Promise<boolean>((resolve) => {
      ack.once('data', () => resolve(true));
      ack.once('end', () => resolve(false));
      ack.once('close', () => resolve(false));
      ack.once('error', () => resolve(false));
      if (child.pid !== undefined) onPid?.(child.pid);
      child.stdin?.end(request);
      if (signal?.aborted) giveUp();
    });
    signal?.removeEventListener('abort', giveUp);
    ack.destroy();
    if (!started) {
      // Its fd 3 closed without an `S`: it is exiting. 125: the script refused (its `cd` failed);
      // anything else: the member was killed or died.
      await member.gone;
      if (child.exitCode !== 125 && !signal?.aborted) this.#memberFailed();
      this.stats.declined += 1;
      return undefined;
    }
    this.#failures = 0;
    this.stats.served += 1;
    return { child, stdout, stderr };
  }

  /** Ends every ready member (their stdin closes: they exit) and spawns no more. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#fillTimer);
    this.#endReady();
  }

  /** Ends the ready members: their stdin closes, they exit. */
  #endReady(): void {
    for (const m of this.#ready.splice(0)) m.child.stdin?.end();
  }

  /** The request's bytes, or undefined when it must go the plain way. */
  #encode(cmd: string, cwd: string, env: Env, jobDir: string): string | undefined {
    if (!cwd.startsWith('/') || (jobDir !== '' && !jobDir.startsWith('/'))) return undefined;
    const changed: [string, string][] = [];
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined || v === this.#env[k]) continue;
      if (!NAME.test(k) || k.startsWith('__reach_')) return undefined;
      changed.push([k, v]);
    }
    for (const [k, v] of Object.entries(this.#env)) {
      // A variable taken away, or one of the script's own names in the members' environment.
      if (v !== undefined && env[k] === undefined) return undefined;
      if (k.startsWith('__reach_')) return undefined;
    }
    const parts = [`${changed.length}\n`, record(cwd), record(cmd), record(jobDir)];
    for (const [k, v] of changed) parts.push(record(k), record(v));
    const request = parts.join('');
    // NUL cannot reach a process (a plain spawn refuses it with the error run_command reports).
    if (request.includes('\0') || Buffer.byteLength(request) > MAX_REQUEST_BYTES) return undefined;
    return request;
  }

  #take(): Member | undefined {
    while (this.#ready.length > 0) {
      const m = this.#ready.shift() as Member;
      if (!hasExited(m.child) && m.child.pid !== undefined) return m;
    }
    return undefined;
  }

  #memberFailed(): void {
    this.stats.failed += 1;
    this.#failures += 1;
    if (this.#failures >= MAX_FAILURES) {
      this.#restUntil = Date.now() + REST_MS;
      this.#failures = 0;
      // Members started meanwhile are the same kind: they go too.
      this.#endReady();
      this.#log.warn(
        { rest_ms: REST_MS },
        'pooled shells keep dying before they start a command; plain spawn for now',
      );
      setTimeout(() => this.#scheduleFill(), REST_MS).unref();
    }
  }

  /**
   * Refills once no command has been launched for REFILL_QUIET_MS. A spawn blocks this event loop
   * for ~1 ms (the fork of the client; bench:rtt measures it), which is what a plain spawn costs a
   * command: done between commands it is off their path, done while one is starting it is on it
   * (measured: refilling at once made a pooled `true` as slow as a plain one, 2.2 ms). Commands
   * back to back therefore find the pool empty and spawn the plain way, at the same cost as without
   * a pool; commands with a pause between them (an assistant's) start through a ready shell.
   */
  #scheduleFill(): void {
    if (this.#closed) return;
    clearTimeout(this.#fillTimer);
    this.#fillTimer = setTimeout(() => this.#fill(), this.#refillQuietMs);
    this.#fillTimer.unref();
  }

  /** Spawns one member, then the next on a later turn of the event loop, until `size` are ready. */
  #fill(): boolean {
    if (this.#closed || Date.now() < this.#restUntil || this.#ready.length >= this.#size) return false;
    const m = this.#spawnMember();
    if (m === undefined) return false;
    this.#ready.push(m);
    if (this.#ready.length < this.#size) setImmediate(() => this.#fill());
    return true;
  }

  #spawnMember(): Member | undefined {
    let child: ChildProcess;
    try {
      child = spawn(this.#shell, ['-c', this.#script], {
        env: this.#env,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.#log.warn({ err }, 'starting a pooled shell failed');
      this.#memberFailed();
      return undefined;
    }
    const gone = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const m: Member = { child, gone };
    child.stdin?.on('error', () => undefined);
    void gone.then(() => {
      const i = this.#ready.indexOf(m);
      if (i < 0) return;
      // Died while waiting (killed from outside): replaced, unless members keep dying.
      this.#ready.splice(i, 1);
      this.#memberFailed();
      this.#scheduleFill();
    });
    return m;
  }
}
