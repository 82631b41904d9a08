import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ReachError } from '@reach/protocol';
import { z } from 'zod';

/**
 * `<data-dir>/daemon.json`: how a `--transport stdio` server started on the same data dir reaches a
 * running HTTP daemon (and bridges to it instead of failing on the SSH port the daemon holds). It
 * holds the daemon's API key, so it is written 0600 inside the owner-only data dir, beside the
 * host's private key, which is no less secret; a reader refuses a file another user owns or can
 * read.
 */
export const DAEMON_FILE = 'daemon.json';

/** Bound on what is read: the real file is ~200 bytes. */
const MAX_BYTES = 16 * 1024;

export const DaemonInfo = z.object({
  pid: z.number().int().positive(),
  /** The daemon's Streamable HTTP endpoint, on a loopback address. */
  mcpUrl: z.url(),
  sshPort: z.number().int().min(0).max(65_535),
  apiKey: z.string().min(1).optional(),
  version: z.string().max(64),
});
export type DaemonInfo = z.infer<typeof DaemonInfo>;

/** Writes the file atomically (temp file, fsync, rename); the returned function removes it if it is still ours. */
export async function writeDaemonFile(dataDir: string, info: DaemonInfo): Promise<() => Promise<void>> {
  const path = join(dataDir, DAEMON_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  const fh = await open(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await fh.writeFile(`${JSON.stringify(info)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  return async () => {
    // A newer daemon may have replaced the file: leave its record alone.
    const current = await readDaemonFile(dataDir).catch(() => undefined);
    if (current?.pid === info.pid) await rm(path, { force: true });
  };
}

/**
 * The daemon record in `dataDir`, or undefined when there is none (or it is not valid JSON of the
 * right shape: a torn or foreign file is treated as absent). A file that is a symlink, not ours, or
 * open to group/others is refused with PERMISSION_DENIED: its key would not be private.
 */
export async function readDaemonFile(dataDir: string): Promise<DaemonInfo | undefined> {
  const path = join(dataDir, DAEMON_FILE);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP')
      throw new ReachError('PERMISSION_DENIED', `${path} is a symlink; refusing to use it`);
    throw err;
  }
  try {
    const st = await fh.stat();
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
      throw new ReachError(
        'PERMISSION_DENIED',
        `${path} must be a regular file owned by you with mode 0600 (it holds the daemon's API key); fix it or delete it`,
      );
    }
    if (st.size > MAX_BYTES) return undefined;
    const parsed = DaemonInfo.safeParse(JSON.parse(await fh.readFile('utf8')) as unknown);
    return parsed.success ? parsed.data : undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  } finally {
    await fh.close();
  }
}

/** Whether a process with this pid exists (EPERM: it exists but is someone else's). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The daemon recorded in `dataDir` if it is alive, serves the same SSH port and answers its
 * `/health`; undefined otherwise (a stale record from a daemon that died is ignored).
 */
export async function findRunningDaemon(
  dataDir: string,
  sshPort: number,
  opts: { timeoutMs?: number } = {},
): Promise<DaemonInfo | undefined> {
  const info = await readDaemonFile(dataDir);
  if (info === undefined || info.sshPort !== sshPort || !processExists(info.pid)) return undefined;
  try {
    const res = await fetch(new URL('/health', info.mcpUrl), {
      signal: AbortSignal.timeout(opts.timeoutMs ?? 3000),
    });
    await res.body?.cancel();
    return res.ok ? info : undefined;
  } catch {
    return undefined;
  }
}
