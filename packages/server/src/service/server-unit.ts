import { environmentAssignment, execLine, renderUnit, type UnitSection } from '@reach/protocol';

/** The names and places the reference uses (`systemctl status reach-mcp`). */
export const SERVER_UNIT_NAME = 'reach-mcp.service';
export const RECEIVER_UNIT_NAME = 'reach-webhook-receiver.service';
export const SERVICE_USER = 'reach';
export const SERVICE_DATA_DIR = '/var/lib/reach-server';
export const SERVICE_ENV_FILE = '/etc/reach/server.env';

export interface ServerUnitOptions {
  /** The server's command line before its flags: `[/usr/local/bin/reach-server]`, or node + bin. */
  command: readonly string[];
  user: string;
  dataDir: string;
  envFile: string;
  /** Below 1024 the unit keeps CAP_NET_BIND_SERVICE (ambient); otherwise no capability at all. */
  sshPort: number;
  httpPort?: number | undefined;
}

/**
 * Sandboxing shared by both units, each line a reason (systemd.exec(5)). Left out on purpose:
 * `MemoryDenyWriteExecute` (V8's JIT maps pages writable then executable: node aborts at start) and
 * `ProcSubset=pid` (ssh2 and `os` read /proc/meminfo and /proc/sys for metrics and limits).
 */
const HARDENING: UnitSection = [
  ['NoNewPrivileges', 'yes'],
  ['ProtectSystem', 'strict'],
  ['ProtectHome', 'yes'],
  ['PrivateTmp', 'yes'],
  ['PrivateDevices', 'yes'],
  ['ProtectKernelTunables', 'yes'],
  ['ProtectKernelModules', 'yes'],
  ['ProtectKernelLogs', 'yes'],
  ['ProtectControlGroups', 'yes'],
  ['ProtectClock', 'yes'],
  ['ProtectHostname', 'yes'],
  ['ProtectProc', 'invisible'],
  ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
  ['RestrictNamespaces', 'yes'],
  ['RestrictRealtime', 'yes'],
  ['RestrictSUIDSGID', 'yes'],
  ['LockPersonality', 'yes'],
  ['RemoveIPC', 'yes'],
  ['PrivateMounts', 'yes'],
  ['KeyringMode', 'private'],
  ['DevicePolicy', 'closed'],
  ['SystemCallArchitectures', 'native'],
  ['SystemCallFilter', ['@system-service', '~@privileged @mount @debug @cpu-emulation @obsolete @raw-io']],
  ['SystemCallErrorNumber', 'EPERM'],
  ['UMask', '0077'],
];

function capabilities(ports: ReadonlyArray<number | undefined>): UnitSection {
  // Only a privileged port needs a capability; then user namespaces must stay off, since a
  // capability raised inside one does not bind a port of the host.
  return ports.some((p) => p !== undefined && p > 0 && p < 1024)
    ? [
        ['CapabilityBoundingSet', 'CAP_NET_BIND_SERVICE'],
        ['AmbientCapabilities', 'CAP_NET_BIND_SERVICE'],
      ]
    : [
        ['CapabilityBoundingSet', ''],
        ['AmbientCapabilities', ''],
        ['PrivateUsers', 'yes'],
      ];
}

/**
 * `reach-mcp.service`: the HTTP daemon (MCP, API, web UI) with its embedded SSH server, as the
 * service user, settings from the env file, data in the state directory, restarted on failure and
 * stopped by SIGTERM (the server closes its links and flushes the webhook outbox on it).
 */
export function renderServerUnit(o: ServerUnitOptions): string {
  return renderUnit({
    header: [
      'Reach MCP server. Written by `reach-server install-service`; settings belong in the env file.',
      `Status: systemctl status ${SERVER_UNIT_NAME.replace('.service', '')}   Logs: journalctl -u ${SERVER_UNIT_NAME.replace('.service', '')}`,
    ],
    sections: [
      [
        'Unit',
        [
          ['Description', 'Reach MCP server (reach-server)'],
          ['After', 'network-online.target'],
          ['Wants', 'network-online.target'],
        ],
      ],
      [
        'Service',
        [
          ['Type', 'simple'],
          ['User', o.user],
          ['Group', o.user],
          ['EnvironmentFile', o.envFile],
          ['Environment', [environmentAssignment('REACH_SERVER_HOME', o.dataDir)]],
          ['ExecStart', execLine([...o.command, '--transport', 'http', '--data-dir', o.dataDir])],
          ['Restart', 'on-failure'],
          ['RestartSec', '5s'],
          ['KillSignal', 'SIGTERM'],
          ['TimeoutStopSec', '30s'],
          ['StandardOutput', 'journal'],
          ['StandardError', 'journal'],
          ['SyslogIdentifier', 'reach-mcp'],
          // Thousands of clients: one descriptor each, plus SQLite and the HTTP side.
          ['LimitNOFILE', '65536'],
          ['ReadWritePaths', o.dataDir],
          ...HARDENING,
          ...capabilities([o.sshPort, o.httpPort]),
        ],
      ],
      ['Install', [['WantedBy', 'multi-user.target']]],
    ],
  });
}

export interface ReceiverUnitOptions {
  command: readonly string[];
  user: string;
  /** Where the receiver appends the events it accepted (inside the data dir). */
  logFile: string;
  port: number;
  envFile: string;
}

/** The webhook test receiver as a unit of its own (the reference ships one too). */
export function renderReceiverUnit(o: ReceiverUnitOptions): string {
  const dir = o.logFile.slice(0, o.logFile.lastIndexOf('/')) || '/';
  return renderUnit({
    header: ['Reach webhook test receiver. Written by `reach-server install-service --webhook-receiver`.'],
    sections: [
      [
        'Unit',
        [
          ['Description', 'Reach webhook test receiver'],
          ['After', 'network-online.target'],
        ],
      ],
      [
        'Service',
        [
          ['Type', 'simple'],
          ['User', o.user],
          ['Group', o.user],
          // `-`: the file is optional; REACH_WEBHOOK_SECRET in it turns on signature checks.
          ['EnvironmentFile', `-${o.envFile}`],
          [
            'ExecStart',
            execLine([...o.command, 'webhook-test-receiver', '--port', String(o.port), '--log', o.logFile]),
          ],
          ['Restart', 'on-failure'],
          ['RestartSec', '5s'],
          ['StandardOutput', 'journal'],
          ['StandardError', 'journal'],
          ['SyslogIdentifier', 'reach-webhook-receiver'],
          ['ReadWritePaths', dir],
          ...HARDENING,
          ...capabilities([o.port]),
        ],
      ],
      ['Install', [['WantedBy', 'multi-user.target']]],
    ],
  });
}
