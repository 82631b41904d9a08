import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** Distinct SQL texts kept compiled; a filter's SQL varies with its shape (tags, flags), so bounded. */
const MAX_STATEMENTS = 128;

/**
 * Prepared statements by SQL text, compiled once per connection. node:sqlite has no statement
 * cache of its own, and with this schema `prepare` cost 61 µs a call in the server against 26 µs
 * for running the query itself: a tools/call looks its client up three times. Past the bound the
 * least recently used text is dropped. A statement is run to completion synchronously
 * (get/all/run; nothing here iterates), so sharing one between callers is safe.
 */
export class StatementCache {
  readonly #db: DatabaseSync;
  readonly #max: number;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync, max = MAX_STATEMENTS) {
    this.#db = db;
    this.#max = max;
  }

  prepare(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (st === undefined) {
      st = this.#db.prepare(sql);
      if (this.#statements.size >= this.#max) this.#statements.delete(this.#statements.keys().next().value!);
    } else this.#statements.delete(sql);
    // Last in Map order: the least recently used is the one dropped.
    this.#statements.set(sql, st);
    return st;
  }

  get size(): number {
    return this.#statements.size;
  }
}
