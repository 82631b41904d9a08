import { execLine, renderUnit } from '@reach/protocol';

export const CLIENT_UNIT_NAME = 'reach.service';

export interface ClientUnitOptions {
  /** The client's command line before its flags: the executable, or node and its script. */
  command: readonly string[];
  configDir: string;
  scope: 'user' | 'system';
  /** With `system`: the account the agent runs as (commands run with its rights). */
  user?: string | undefined;
}

/**
 * The client as a service that restarts forever: a link that cannot come up is the agent's own
 * backoff to handle, and a crash is systemd's (every 5 s, never rate-limited into giving up:
 * `StartLimitIntervalSec=0`). No sandboxing: the agent exists to run what its operator asks on this
 * machine, with the rights of the account it runs as.
 */
export function renderClientUnit(o: ClientUnitOptions): string {
  return renderUnit({
    header: [
      `Reach client. Written by \`reach --install-service --${o.scope}\`; remove with \`reach --uninstall-service --${o.scope}\`.`,
      o.scope === 'user'
        ? 'Status: systemctl --user status reach   Logs: journalctl --user -u reach'
        : 'Status: systemctl status reach   Logs: journalctl -u reach',
    ],
    sections: [
      [
        'Unit',
        [
          ['Description', 'Reach client (reverse tunnel agent)'],
          ['After', 'network-online.target'],
          ['Wants', 'network-online.target'],
          ['StartLimitIntervalSec', '0'],
        ],
      ],
      [
        'Service',
        [
          ['Type', 'simple'],
          ...(o.scope === 'system' && o.user !== undefined ? ([['User', o.user]] as const) : []),
          ['ExecStart', execLine([...o.command, '--config', o.configDir])],
          ['Restart', 'always'],
          ['RestartSec', '5s'],
          ['KillSignal', 'SIGTERM'],
          // The agent's own commands are in process groups of their own: stop them with it.
          ['KillMode', 'control-group'],
          ['TimeoutStopSec', '15s'],
          ['SyslogIdentifier', 'reach'],
        ],
      ],
      ['Install', [['WantedBy', o.scope === 'user' ? 'default.target' : 'multi-user.target']]],
    ],
  });
}

/**
 * Windows has no systemd: a scheduled task at logon, restarted by the task scheduler's own retry,
 * runs the same command (`schtasks.exe` argument vector; no shell string).
 */
export function windowsTaskArgs(o: {
  command: readonly string[];
  configDir: string;
  taskName: string;
}): string[] {
  const quote = (w: string): string => (/[\s"]/.test(w) ? `"${w.replaceAll('"', '\\"')}"` : w);
  return [
    '/Create',
    '/TN',
    o.taskName,
    '/SC',
    'ONLOGON',
    '/RL',
    'LIMITED',
    '/F',
    '/TR',
    [...o.command, '--config', o.configDir].map(quote).join(' '),
  ];
}
