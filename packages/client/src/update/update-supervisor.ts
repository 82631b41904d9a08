import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { hasExited } from '../spawner/child-exited.ts';
import { restoreExecutable } from './swap-executable.ts';
import { readUpdateState, type UpdateState, writeUpdateState } from './update-state.ts';

/** The new version's output while it is watched, and the source of a rollback's `log_tail`. */
export const NEW_LOG_FILE = 'new.log';
/** Bytes of the new version's output a rollback reports. */
const LOG_TAIL_BYTES = 4096;
/** How often update.json is read while the new process is watched. */
const POLL_MS = 200;

export interface SuperviseOptions {
  dir: string;
  exe: string;
  /** The arguments this process was started with (without node and script). */
  args: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  state: UpdateState;
  healthWindowMs: number;
  /** Under systemd the unit restarts the executable once this process exits; no detached child is left. */
  systemd: boolean;
  log: Logger;
  platform?: NodeJS.Platform;
}

/**
 * The old process, its tunnel closed, as the new one's supervisor: it starts `exe` (already the
 * new version) with the same arguments and waits until the new process marks update.json healthy.
 * If the new process exits first, or the health window passes, it is killed, `<exe>.prev` is
 * restored, update.json says rolled_back (reason, the new version's last log lines) and the old
 * version is started again, which reports it in its next hello. Resolves with this process's exit
 * code: 0 on success; after a rollback 0 too when standalone (the restored process is running),
 * 1 under systemd (so the unit starts the restored executable).
 */
export async function superviseRestart(o: SuperviseOptions): Promise<number> {
  const platform = o.platform ?? process.platform;
  const child = startDetached(o.exe, o.args, o.env, join(o.dir, NEW_LOG_FILE), !o.systemd);
  o.log.info({ pid: child.pid, to: o.state.to }, 'update: started the new version; watching it');
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, sig) =>
      resolve(`exited ${sig ? `on ${sig}` : `with code ${code}`} before it was healthy`),
    );
    child.once('error', (err) => resolve(`could not be started: ${err.message}`));
  });
  const failure = await watch(o, exited);
  if (failure === undefined) {
    o.log.info({ to: o.state.to }, 'update: the new version is healthy');
    child.unref();
    return 0;
  }
  killTree(child, !o.systemd);
  await restoreExecutable(o.exe, platform);
  const rolledBack: UpdateState = {
    ...o.state,
    state: 'rolled_back',
    reason: failure,
    log_tail: await tail(join(o.dir, NEW_LOG_FILE)),
  };
  await writeUpdateState(o.dir, rolledBack);
  o.log.warn({ to: o.state.to, reason: failure }, 'update: rolled back to the previous version');
  if (o.systemd) return 1;
  startDetached(o.exe, o.args, o.env, join(o.dir, 'restored.log'), true).unref();
  return 0;
}

async function watch(o: SuperviseOptions, exited: Promise<string>): Promise<string | undefined> {
  const deadline = Date.now() + o.healthWindowMs;
  let gone: string | undefined;
  void exited.then((why) => {
    gone = why;
  });
  for (;;) {
    const now = await readUpdateState(o.dir);
    if (now?.state === 'healthy' && now.to === o.state.to && now.started_at === o.state.started_at)
      return undefined;
    if (gone !== undefined) return gone;
    if (Date.now() >= deadline) return `not healthy within ${Math.round(o.healthWindowMs / 1000)} s`;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function startDetached(
  exe: string,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  logFile: string,
  detached: boolean,
): ChildProcess {
  const fd = openSync(logFile, 'w', 0o600);
  // A launcher's version belongs to that launcher: the new executable reports its own.
  const { REACH_BUILD_VERSION: _launcherVersion, ...childEnv } = env;
  try {
    return spawn(exe, [...args], { env: childEnv, detached, stdio: ['ignore', fd, fd], windowsHide: true });
  } finally {
    closeSync(fd);
  }
}

function killTree(child: ChildProcess, ownGroup: boolean): void {
  if (hasExited(child) || child.pid === undefined) return;
  try {
    if (ownGroup && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // Already gone.
  }
}

async function tail(path: string): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - LOG_TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}
