import type { ChildProcess } from 'node:child_process';

/**
 * Stops a child process the tests or benches started: SIGTERM, then SIGKILL if it has not exited
 * after `graceMs`; resolves once it has exited. A child that already exited resolves at once.
 */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
