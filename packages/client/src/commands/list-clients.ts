import { ListClientsResult } from '@reach/protocol';
import type { z } from 'zod';
import { loadConfig } from '../config/load-config.ts';
import { createLogger } from '../log/logger.ts';
import { callControl } from '../tunnel/control.ts';
import type { Command } from './command.ts';
import { linkTarget } from './link-credentials.ts';

/** Deadline of the whole list_clients exchange, handshake included, in ms. */
const LIST_TIMEOUT_MS = 20_000;

/** `--list-clients`: asks the server over SSH (the client key is the credential). */
export const listClientsCommand: Command = {
  flag: 'list-clients',
  description: 'ask the server for all known clients (add --json for JSON)',
  run: async ({ io, sources, json }) => {
    const loaded = await loadConfig(sources);
    const log = createLogger(loaded.config.log_level);
    const target = await linkTarget(loaded);
    const raw = await callControl({ ...target, log }, 'list_clients', {}, { timeoutMs: LIST_TIMEOUT_MS });
    const result = ListClientsResult.parse(raw);
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
