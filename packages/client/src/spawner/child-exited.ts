import type { ChildProcess } from 'node:child_process';

/**
 * Whether Node has reaped `child` (it exited or was killed). Until then its pid is still its own:
 * the kernel does not reuse a pid its parent has not waited for.
 */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
