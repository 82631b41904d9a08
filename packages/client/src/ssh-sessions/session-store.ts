import { readFile } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic-write.ts';

/** File name of the persisted session metadata inside the client config directory. */
export const SSH_SESSIONS_FILE = 'ssh_sessions.json';

/** How one hop authenticates. Passwords are never stored: only the fact that one was used. */
export const PersistedHop = z.object({
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65_535),
  username: z.string().min(1).max(64),
  auth: z.enum(['key', 'password']),
  key_file: z.string().max(4096).optional(),
});
export type PersistedHop = z.infer<typeof PersistedHop>;

export const PersistedSession = PersistedHop.extend({
  session_id: z.string().min(1).max(128),
  created_at: z.string(),
  jump_hosts: z.array(PersistedHop).max(8),
});
export type PersistedSession = z.infer<typeof PersistedSession>;

const SessionsFile = z.object({ version: z.literal(1), sessions: z.array(PersistedSession).max(10_000) });

/**
 * The JSON file that lets `ssh_session_restore` reopen sessions after a client restart. Written
 * atomically (0600); saves are serialised so the last one wins.
 */
export class SessionStore {
  readonly path: string;
  #saves: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /** The stored sessions; none when the file does not exist. A damaged file is SSH_SESSION_RESTORE_ERROR. */
  async load(): Promise<PersistedSession[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ReachError('SSH_SESSION_RESTORE_ERROR', `cannot read ${this.path}`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ReachError('SSH_SESSION_RESTORE_ERROR', `${this.path} is not valid JSON`, { cause: err });
    }
    const parsed = SessionsFile.safeParse(json);
    if (!parsed.success) {
      throw new ReachError('SSH_SESSION_RESTORE_ERROR', `${this.path} has an unexpected shape`, {
        details: { issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) },
      });
    }
    return parsed.data.sessions;
  }

  async save(sessions: PersistedSession[]): Promise<void> {
    const body = `${JSON.stringify({ version: 1, sessions }, null, 2)}\n`;
    const run = this.#saves.then(() => writeFileAtomic(this.path, body, { mode: 0o600 }));
    this.#saves = run.catch(() => undefined);
    await run;
  }
}
