import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** In the data dir, 0600: the key pair r2_rotate_keys made last; it wins over the environment's. */
export const ROTATED_CREDENTIALS_FILE = 'r2-credentials.json';

export const RotatedCredentials = z.object({
  access_key_id: z.string().min(1),
  secret_access_key: z.string().min(1),
  /** ISO 8601 time of the rotation. */
  rotated_at: z.string(),
});
export type RotatedCredentials = z.infer<typeof RotatedCredentials>;

/** The stored key pair, or undefined when there is none (a damaged file is ignored, not fatal). */
export async function loadRotatedCredentials(dataDir: string): Promise<RotatedCredentials | undefined> {
  const text = await readFile(join(dataDir, ROTATED_CREDENTIALS_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return RotatedCredentials.parse(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Writes the key pair atomically (temp file 0600, fsync, rename), so a crash leaves old or new. */
export async function saveRotatedCredentials(dataDir: string, creds: RotatedCredentials): Promise<void> {
  const path = join(dataDir, ROTATED_CREDENTIALS_FILE);
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(temp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(creds)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** The variables an env file's key pair is under: the reference's names when the file uses them. */
function keyVariables(lines: readonly string[]): { id: string; secret: string } {
  const uses = (name: string) => lines.some((l) => new RegExp(`^\\s*(export\\s+)?${name}=`).test(l));
  return uses('R2_ACCESS_KEY') && !uses('REACH_S3_ACCESS_KEY_ID')
    ? { id: 'R2_ACCESS_KEY', secret: 'R2_SECRET_KEY' }
    : { id: 'REACH_S3_ACCESS_KEY_ID', secret: 'REACH_S3_SECRET_ACCESS_KEY' };
}

/**
 * Rewrites the key pair (and REACH_S3_ROTATED_AT) in an environment file, keeping every other
 * line, atomically and 0600 (a temp file beside it, fsync, rename). The server reads it again at
 * its next start through whatever loads the file (systemd EnvironmentFile, `set -a; . file`).
 */
export async function saveToEnvFile(path: string, creds: RotatedCredentials): Promise<void> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const vars = keyVariables(lines);
  const values: Record<string, string> = {
    [vars.id]: creds.access_key_id,
    [vars.secret]: creds.secret_access_key,
    REACH_S3_ROTATED_AT: creds.rotated_at,
  };
  const seen = new Set<string>();
  const out = lines.map((line) => {
    const m = /^\s*(export\s+)?([A-Z0-9_]+)=/.exec(line);
    const name = m?.[2];
    if (name === undefined || !(name in values)) return line;
    seen.add(name);
    return `${m?.[1] ?? ''}${name}=${values[name]}`;
  });
  for (const [name, value] of Object.entries(values)) if (!seen.has(name)) out.push(`${name}=${value}`);
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(temp, 'wx', 0o600);
  try {
    await fh.writeFile(`${out.join('\n')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
