import { z } from 'zod';
import type { OptionSpec } from './option-spec.ts';

/**
 * The rows of the server's option table for what it keeps on disk: the data dir, retention of the
 * audit log, command history, terminal recordings and metrics, resumable partials, and the
 * releases it serves; SERVER_OPTIONS takes them in at their place.
 */
export const STORAGE_OPTIONS = {
  dataDir: {
    flag: 'data-dir',
    env: 'SERVER_HOME',
    arg: 'DIR',
    type: z.string().min(1),
    default: '~/.reach-server',
    help: 'host key, authorized_keys, reach.db (created owner-only)',
    group: 'storage',
    path: true,
  },
  auditRetentionDays: {
    flag: 'audit-retention-days',
    env: 'AUDIT_RETENTION_DAYS',
    arg: 'N',
    type: z.coerce.number().positive().max(36_500),
    default: '90',
    help: 'audit log rows older than this many days are deleted',
    group: 'storage',
  },
  commandHistoryRetentionDays: {
    flag: 'history-retention-days',
    env: 'HISTORY_RETENTION_DAYS',
    arg: 'N',
    type: z.coerce.number().positive().max(36_500),
    default: '90',
    help: 'command history rows older than this many days are deleted',
    group: 'storage',
  },
  recordingRetentionDays: {
    flag: 'recording-retention-days',
    env: 'RECORDING_RETENTION_DAYS',
    arg: 'N',
    type: z.coerce.number().min(0).max(36_500),
    default: '90',
    help: 'terminal recordings (asciicast files) older than this many days are deleted; 0: kept forever',
    group: 'storage',
  },
  recordingMaxMib: {
    flag: 'recording-max-mib',
    env: 'RECORDING_MAX_MIB',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(16_384),
    default: '64',
    help: 'a terminal recording stops at this size (a marker says so; the session goes on)',
    group: 'storage',
  },
  metricsRetentionDays: {
    flag: 'metrics-retention-days',
    env: 'METRICS_RETENTION_DAYS',
    arg: 'N',
    type: z.coerce.number().positive().max(3650),
    default: '7',
    help: 'metrics history samples older than this many days are deleted',
    group: 'storage',
  },
  partialTtlHours: {
    flag: 'partial-ttl-hours',
    env: 'PARTIAL_TTL_HOURS',
    arg: 'H',
    type: z.coerce.number().min(0).max(8760),
    default: '168',
    help: 'resumable download partials are removed this many hours after their last change',
    group: 'storage',
  },
  partialMaxMib: {
    flag: 'partial-max-mib',
    env: 'PARTIAL_MAX_MIB',
    arg: 'N',
    type: z.coerce
      .number()
      .int()
      .min(0)
      .max(16 * 1024 * 1024),
    default: '4096',
    help: 'MiB resumable partials may take together (oldest removed first)',
    group: 'storage',
  },
  releasesDir: {
    flag: 'releases-dir',
    env: 'RELEASES_DIR',
    arg: 'DIR',
    type: z.string().min(1).optional(),
    help: 'client downloads served at /latest and /releases (default <data-dir>/releases)',
    group: 'storage',
    path: true,
  },
  releasePublicKey: {
    flag: 'release-public-key',
    env: 'RELEASE_PUBLIC_KEY',
    arg: 'FILE',
    type: z.string().min(1).optional(),
    help: 'minisign public key that release publish and release list check signatures against (default <data-dir>/release.pub)',
    group: 'storage',
    path: true,
  },
  releaseUrl: {
    flag: 'release-url',
    env: 'RELEASE_URL',
    arg: 'URL',
    type: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional(),
    help: 'base URL clients fetch update executables from over HTTP (…/releases/<v>/<name>); default: over each client’s own SSH link',
    group: 'storage',
  },
  releasesAuth: {
    flag: 'releases-auth',
    env: 'RELEASES_AUTH',
    arg: 'open|api-key',
    type: z.enum(['open', 'api-key']),
    default: 'open',
    help: 'downloads need no API key (binaries are not secrets), or need the key',
    group: 'storage',
  },
} as const satisfies Record<string, OptionSpec>;
