import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AuditStore } from '../db/audit-store.ts';
import { openDatabase } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { AuditLog, type AuditRecord } from './audit-log.ts';

export interface AuditCommandDeps {
  /** The server's data dir (holds reach.db). */
  dataDir: string;
  stdout: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Database file name inside dataDir (default reach.db, as the server's). */
  dbFile?: string;
  /** Milliseconds clock, for relative `--since`. */
  now?: () => number;
}

const USAGE =
  'usage: reach-server audit [--client UUID|NAME] [--since 24h|7d|ISO-TIME] [--tool NAME] [--caller C] ' +
  '[--limit N] [--json]';
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A time bound: `30m`, `24h`, `7d`, `2w` before now, or an ISO 8601 date/time. */
export function parseSince(text: string, now: number): number | undefined {
  const rel = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]!]!;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * `reach-server audit`: prints the newest audit entries (a table, or one JSON object per line with
 * `--json`) from the data dir's database. Returns the exit code: 0, 1 (no database), 2 (usage).
 */
export async function auditCommand(argv: string[], deps: AuditCommandDeps): Promise<number> {
  const stderr = deps.stderr ?? process.stderr;
  const usageError = (msg: string): number => {
    stderr.write(`${msg}\n${USAGE}\n`);
    return 2;
  };
  let values: {
    client?: string;
    since?: string;
    tool?: string;
    caller?: string;
    limit?: string;
    json?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        client: { type: 'string', short: 'c' },
        since: { type: 'string', short: 's' },
        tool: { type: 'string', short: 't' },
        caller: { type: 'string' },
        limit: { type: 'string', short: 'n' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    deps.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const limit = Number(values.limit ?? '50');
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return usageError('--limit must be 1-10000');
  let since: number | undefined;
  if (values.since !== undefined) {
    since = parseSince(values.since, (deps.now ?? Date.now)());
    if (since === undefined) return usageError(`--since: not a time: ${values.since}`);
  }
  const path = join(deps.dataDir, deps.dbFile ?? 'reach.db');
  if (!existsSync(path)) {
    stderr.write(`no database at ${path} (has the server run with this --data-dir?)\n`);
    return 1;
  }
  const db = openDatabase(path, MIGRATIONS);
  let records: AuditRecord[];
  try {
    records = new AuditLog({ store: new AuditStore(db) }).query({
      limit,
      ...(values.client === undefined ? {} : { client: values.client }),
      ...(since === undefined ? {} : { since }),
      ...(values.tool === undefined ? {} : { tool: values.tool }),
      ...(values.caller === undefined ? {} : { caller: values.caller }),
    });
  } finally {
    db.close();
  }
  if (values.json) {
    for (const r of records) deps.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    deps.stdout.write(records.length === 0 ? 'no audit entries\n' : formatTable(records));
  }
  return 0;
}

const MAX_ARGS_CHARS = 80;

/** A plain aligned table, newest first. */
export function formatTable(records: readonly AuditRecord[]): string {
  const header = ['TIME', 'CALLER', 'CLIENT', 'TOOL', 'OUTCOME', 'MS', 'ARGUMENTS'];
  const rows = records.map((r) => {
    const args = JSON.stringify(r.arguments) ?? '';
    return [
      r.time.replace(/\.\d{3}Z$/, 'Z'),
      r.caller,
      r.client_name ? `${r.client_name} (${(r.client_uuid ?? '').slice(0, 8)})` : (r.client_uuid ?? '-'),
      r.tool,
      r.outcome,
      String(r.duration_ms),
      args.length > MAX_ARGS_CHARS ? `${args.slice(0, MAX_ARGS_CHARS - 1)}…` : args,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}
