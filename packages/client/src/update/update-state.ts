import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic-write.ts';

/**
 * Where an update stands, in `<config dir>/update/update.json`: written by the old process before
 * it restarts, by the new one once it has registered, and by the supervisor when it rolls back.
 *   applied → healthy | rolled_back
 */
export const UpdateStateName = z.enum(['applied', 'healthy', 'rolled_back']);
export type UpdateStateName = z.infer<typeof UpdateStateName>;

export const UpdateState = z.object({
  from: z.string().max(64),
  to: z.string().max(64),
  /** ISO 8601: when the old process swapped the executables. */
  started_at: z.string().max(64),
  state: UpdateStateName,
  /** rolled_back: why (exited early with code N, not healthy within N s). */
  reason: z.string().max(1024).optional(),
  /** rolled_back: the new version's last log lines (at most 4 KiB). */
  log_tail: z.string().max(8192).optional(),
});
export type UpdateState = z.infer<typeof UpdateState>;

export const UPDATE_STATE_FILE = 'update.json';

/** The update directory's state, or undefined when there is none (or it cannot be read). */
export async function readUpdateState(dir: string): Promise<UpdateState | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, UPDATE_STATE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = UpdateState.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeUpdateState(dir: string, state: UpdateState): Promise<void> {
  await writeFileAtomic(join(dir, UPDATE_STATE_FILE), `${JSON.stringify(state)}\n`, { mode: 0o600 });
}
