import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { WebhookOutboxStore } from '../db/webhook-outbox-store.ts';

const USAGE = 'usage: reach-server webhooks [--data-dir D] [--limit N] [--json] [--requeue]';

export interface WebhooksCommandDeps {
  dataDir: string;
  stdout: { write(s: string): unknown };
  stderr?: { write(s: string): unknown };
  dbFile?: string;
}

/**
 * `reach-server webhooks`: the outbox's pending and dead counts and its dead letters (events that
 * exhausted their retries), newest first. `--requeue` turns every dead letter back into a pending
 * event; a running server picks them up within a few seconds (WebhookDispatcher watches the
 * database for other processes' changes).
 */
export async function webhooksCommand(argv: string[], deps: WebhooksCommandDeps): Promise<number> {
  const stderr = deps.stderr ?? process.stderr;
  let values: { limit?: string; json?: boolean; requeue?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { limit: { type: 'string' }, json: { type: 'boolean' }, requeue: { type: 'boolean' } },
      strict: true,
    }));
  } catch (err) {
    stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const limit = Number(values.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    stderr.write(`--limit must be 1–10000\n${USAGE}\n`);
    return 2;
  }
  const path = join(deps.dataDir, deps.dbFile ?? 'reach.db');
  if (!existsSync(path)) {
    stderr.write(`no database at ${path}\n`);
    return 1;
  }
  const db = openDatabase(path, MIGRATIONS);
  try {
    const store = new WebhookOutboxStore(db);
    if (values.requeue) {
      const { rows } = store.requeue(Date.now());
      deps.stdout.write(
        `requeued ${rows} dead letter(s); a running server sends them within a few seconds\n`,
      );
      return 0;
    }
    const counts = store.counts();
    const dead = store.deadLetters(limit).map((r) => ({
      seq: r.seq,
      id: r.id,
      event: r.event,
      client_uuid: r.client_uuid,
      // Only the origin: a receiver URL's path or query may carry a token.
      target: new URL(r.url).origin,
      attempts: r.attempts,
      created_at: new Date(r.created_at).toISOString(),
    }));
    if (values.json) {
      deps.stdout.write(`${JSON.stringify({ ...counts, dead_letters: dead })}\n`);
      return 0;
    }
    deps.stdout.write(`pending ${counts.pending}, dead ${counts.dead}\n`);
    for (const d of dead) {
      deps.stdout.write(
        `${d.created_at}  ${d.event}  ${d.client_uuid}  ${d.target}  attempts=${d.attempts}\n`,
      );
    }
    return 0;
  } finally {
    db.close();
  }
}
