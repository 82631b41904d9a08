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
