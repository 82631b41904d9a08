import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { ReachError } from '../errors.ts';

/** What an installer does to the machine besides writing files; tests inject their own. */
export interface SystemOps {
  isRoot(): boolean;
  /** Runs a program with an argument vector (never a shell string). */
  run(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** True when nothing listens on host:port (tries to bind it for a moment). */
  portFree(host: string, port: number): Promise<boolean>;
}

export const realSystemOps: SystemOps = {
  isRoot: () => process.getuid?.() === 0,
  run: (cmd, args) =>
    new Promise((resolve) => {
      execFile(cmd, [...args], { timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr || (err && code === 127 ? err.message : '')),
        });
      });
    }),
  portFree: (host, port) =>
    new Promise((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
    }),
};

/**
 * Writes `data` to `path` so a reader sees the old file or the new one: temp file beside it
 * (O_EXCL), fsync, rename. The installers' files are small; the agent's own atomic write (with its
 * descriptor checks) is in the client.
 */
export async function writeFileReplacing(path: string, data: string, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(temp, 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(temp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/**
 * Runs through `ops` and throws COMMAND_FAILED naming the command and its stderr when it fails: a
 * system tool refusing (no systemd, no useradd) is the machine's state, not a bug of ours.
 */
export async function runOrThrow(ops: SystemOps, cmd: string, args: readonly string[]): Promise<void> {
  const r = await ops.run(cmd, args);
  if (r.code !== 0) {
    throw new ReachError(
      'COMMAND_FAILED',
      `${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim().slice(0, 500)}`,
    );
  }
}

export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
