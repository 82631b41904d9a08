import type { LiveEvent } from '../api/types.ts';

/** One line of the activity stream for an event: who, what, and the detail that matters. */
export function describeEvent(e: LiveEvent): string {
  const who = e.client?.display_name ?? e.client?.uuid ?? 'server';
  const d = e.data;
  const str = (k: string): string => (typeof d[k] === 'string' ? (d[k] as string) : '');
  switch (e.type) {
    case 'client.connected':
      return `${who} connected`;
    case 'client.disconnected':
      return `${who} disconnected${str('reason') ? ` (${str('reason')})` : ''}`;
    case 'client.unhealthy':
      return `${who} is unhealthy`;
    case 'client.key_mismatch':
      return `${who} presented another key and is quarantined`;
    case 'command_executed':
      return `${who}: ${str('cmd') || str('command')}${typeof d.exit_code === 'number' ? ` → exit ${d.exit_code}` : ''}`;
    case 'file_accessed':
      return `${who}: ${str('tool') || 'file'} ${str('path')}`;
    case 'file_transferred':
      return `${who}: transfer ${str('path') || str('remote_path')}`;
    default:
      return `${who}: ${e.type}`;
  }
}
