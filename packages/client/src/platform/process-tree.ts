import { spawn } from 'node:child_process';

/** A program and its argument vector (no shell in between). */
export interface Argv {
  file: string;
  args: string[];
}

/** Kills a command's whole tree: `signal` is SIGTERM first, SIGKILL after the grace. */
export type KillTree = (pid: number, signal: 'SIGTERM' | 'SIGKILL') => void;

/** POSIX: the command leads its own process group (spawned detached), so the group is signalled. */
export const killPosixGroup: KillTree = (pid, signal) => {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
};

/**
 * `taskkill /T /F /PID n`: Windows has no process groups to signal; /T walks the tree by parent
 * pid and /F terminates. There is no SIGTERM to send a console program (taskkill without /F posts
 * WM_CLOSE, which only windowed programs get), so both steps terminate.
 */
export function treeKillCommand(pid: number): Argv {
  return { file: 'taskkill.exe', args: ['/T', '/F', '/PID', String(pid)] };
}

/** Runs treeKillCommand; its own failure (the tree is gone already) is of no interest. */
export function windowsTreeKill(run: (argv: Argv) => void = runDetachedQuietly): KillTree {
  return (pid) => {
    if (!Number.isSafeInteger(pid) || pid <= 0) return;
    run(treeKillCommand(pid));
  };
}

function runDetachedQuietly(argv: Argv): void {
  const child = spawn(argv.file, argv.args, { stdio: 'ignore', windowsHide: true });
  child.on('error', () => undefined);
}
