import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LastUpdate } from '@reach/protocol';
import { writeFileAtomic } from '../fs/atomic-write.ts';

/**
 * Where an update stands, in `<config dir>/update/update.json`: written by the old process before
 * it restarts, by the new one once it has registered, and by the supervisor when it rolls back.
 *   applied → healthy | rolled_back
 * The file holds exactly what hello reports as `last_update` (the protocol's LastUpdate).
 */
export const UpdateState = LastUpdate;
export type UpdateState = LastUpdate;

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
