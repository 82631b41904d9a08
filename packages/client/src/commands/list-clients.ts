import { ListClientsResult, ReachError } from '@reach/protocol';
import type { z } from 'zod';
import { loadConfig } from '../config/load-config.ts';
import { createLogger, normaliseLevel } from '../log/logger.ts';
import { withControl } from '../tunnel/control.ts';
import type { Command } from './command.ts';
import { authorizeHint, linkTarget } from './link-credentials.ts';

/** Deadline of each list_clients page, in ms. */
const LIST_TIMEOUT_MS = 20_000;

/** Pages followed at most: 100 of the server's 1,000 clients each, far past one server's fleet. */
const MAX_PAGES = 100;

/** `--list-clients`: asks the server over SSH (the client key is the credential). */
export const listClientsCommand: Command = {
  flag: 'list-clients',
  run: async ({ io, sources, json }) => {
    const loaded = await loadConfig(sources);
    // A one-shot command speaks in lines, not JSON logs; -v (debug) brings the logs back.
    const log = createLogger(normaliseLevel(loaded.config.log_level) === 'debug' ? 'debug' : 'silent');
    const target = await linkTarget(loaded);
    const onPinned = (text: string): void => io.stderr(`reach: ${text}\n`);
    const result = await withControl(
      { ...target, log, onPinned },
      async (call) => {
        // Pages on one connection until the server says there are no more (a server from before
        // paging sends no next_cursor: everything came in the first answer).
        const first = ListClientsResult.parse(await call('list_clients', {}));
        let cursor = first.next_cursor;
        for (let pages = 1; cursor && pages < MAX_PAGES; pages++) {
          const next = ListClientsResult.parse(await call('list_clients', { cursor }));
          first.clients.push(...next.clients);
          cursor = next.next_cursor;
        }
        return { clients: first.clients, online_count: first.online_count, total_count: first.total_count };
      },
      { timeoutMs: LIST_TIMEOUT_MS },
    ).catch((err: unknown) => {
      if (err instanceof ReachError && err.code === 'SSH_AUTH_FAILED') {
        throw new ReachError('SSH_AUTH_FAILED', authorizeHint(target), { cause: err });
      }
      throw err;
    });
    io.stdout(json ? `${JSON.stringify(result, null, 2)}\n` : formatClientTable(result));
    return 0;
  },
};

/** A plain-text table, online clients first, then a count line. */
export function formatClientTable(result: z.infer<typeof ListClientsResult>): string {
  const rows = [...result.clients]
    .sort((a, b) => Number(b.online) - Number(a.online) || a.display_name.localeCompare(b.display_name))
    .map((c) => [
      c.online ? 'online' : 'offline',
      c.display_name || '-',
      c.uuid,
      c.hostname ?? '-',
      c.platform ?? '-',
      c.last_seen ?? '-',
      [c.key_mismatch ? 'KEY MISMATCH' : '', c.tags.join(',')].filter(Boolean).join(' ') || '-',
    ]);
  const header = ['STATUS', 'NAME', 'UUID', 'HOSTNAME', 'PLATFORM', 'LAST SEEN', 'NOTES/TAGS'];
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  const lines = table.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n${result.online_count} online, ${result.total_count} known\n`;
}
