import { execFile } from 'node:child_process';
import { ReachError } from '@reach/protocol';
import type { Argv } from './process-tree.ts';

/**
 * `icacls <path> /inheritance:r /grant:r "<user>:F"` as an argument vector: drops the ACEs the file
 * inherits (on a profile directory: SYSTEM, Administrators) and leaves the user alone with full
 * control, the ACL equal of mode 0600. A directory's grant is `(OI)(CI)F` so that what is created in
 * it later (a temp key file before its rename) inherits only that.
 */
export function ownerOnlyCommand(path: string, user: string, kind: 'file' | 'dir'): Argv {
  const grant = kind === 'dir' ? `${user}:(OI)(CI)F` : `${user}:F`;
  return { file: 'icacls.exe', args: [path, '/inheritance:r', '/grant:r', grant] };
}

export type RunArgv = (argv: Argv) => Promise<void>;

/** Runs an argument vector without a shell; a non-zero exit rejects with its stderr. */
export const execArgv: RunArgv = (argv) =>
  new Promise((resolve, reject) => {
    execFile(argv.file, argv.args, { windowsHide: true, timeout: 30_000 }, (err, _out, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr) }));
      else resolve();
    });
  });

/** Restricts `path` to `user` (ownerOnlyCommand); a failure is PERMISSION_DENIED, nothing removed. */
export async function restrictWindowsAcl(
  path: string,
  user: string,
  kind: 'file' | 'dir',
  run: RunArgv = execArgv,
): Promise<void> {
  try {
    await run(ownerOnlyCommand(path, user, kind));
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new ReachError('PERMISSION_DENIED', `could not restrict ${path} to ${user} with icacls`, {
      details: { path, ...(stderr ? { stderr: stderr.slice(0, 500) } : {}) },
      recoveryHint: `run: icacls "${path}" /inheritance:r /grant:r "${user}:F"`,
      cause: err,
    });
  }
}
