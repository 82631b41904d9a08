import type { DatabaseSync } from 'node:sqlite';

/** The rollouts table (the only SQL about rollouts): each rollout's view as JSON, newest kept. */
export class RolloutStore {
  readonly #db: DatabaseSync;
  readonly #keep: number;

  constructor(db: DatabaseSync, keep = 50) {
    this.#db = db;
    this.#keep = keep;
  }

  /** Writes a rollout's current view (insert or replace), then drops all but the newest `keep`. */
  save<V extends { rollout_id: string; created_at: string }>(view: V): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO rollouts (rollout_id, created_at, view) VALUES (?, ?, ?)')
      .run(view.rollout_id, view.created_at, JSON.stringify(view));
    this.#db
      .prepare(
        'DELETE FROM rollouts WHERE rollout_id NOT IN (SELECT rollout_id FROM rollouts ORDER BY created_at DESC LIMIT ?)',
      )
      .run(this.#keep);
  }

  /** Every stored view, oldest first, as parsed JSON (the caller validates). */
  load(): unknown[] {
    const rows = this.#db
      .prepare('SELECT view FROM rollouts ORDER BY created_at, rollout_id')
      .all() as Array<{
      view: string;
    }>;
    return rows.flatMap((r) => {
      try {
        return [JSON.parse(r.view) as unknown];
      } catch {
        return [];
      }
    });
  }
}
