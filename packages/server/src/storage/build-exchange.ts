import { ReachError } from '@reach/protocol';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ClientService } from '../clients/client-service.ts';
import type { ServerConfig } from '../config/server-config.ts';
import type { Database } from '../db/database.ts';
import { ExchangeStore } from '../db/exchange-store.ts';
import type { Logger } from '../log/logger.ts';
import type { TransferRoots } from '../transfer/transfer-roots.ts';
import type { WebhookDispatcher } from '../webhooks/webhook-dispatcher.ts';
import { CloudflareTokenApi } from './cloudflare-api.ts';
import { ExchangeCatalog } from './exchange-catalog.ts';
import { ExchangeService } from './exchange-service.ts';
import { KeyRotation } from './key-rotation.ts';
import { loadRotatedCredentials } from './rotated-credentials.ts';
import { storageSettings } from './storage-settings.ts';

/** The exchange_* and r2_* services, built together from the config. */
export interface Exchange {
  service: ExchangeService;
  catalog: ExchangeCatalog;
  rotation: KeyRotation;
  close(): void;
}

export interface ExchangeDeps {
  db: Database;
  roots: TransferRoots;
  clients: ClientService;
  webhooks: WebhookDispatcher;
  audit: AuditLog;
  log: Logger;
}

/**
 * Builds the bucket client (with the last rotated key pair from the data dir, when there is one),
 * the exchange service and catalog, and key rotation; starts deliver-on-connect and the expiry
 * sweep when a bucket is configured. Without one every exchange tool answers R2_NOT_CONFIGURED;
 * without a Cloudflare API token and account id the r2_* tools answer ROTATION_NOT_CONFIGURED.
 */
export async function buildExchange(config: ServerConfig, deps: ExchangeDeps): Promise<Exchange> {
  const log = deps.log.child({ component: 'exchange' });
  // With an env file the environment already carries the rotated pair; else the data dir's file wins.
  const rotated = config.s3CredentialsEnvFile ? undefined : await loadRotatedCredentials(config.dataDir);
  const settings = storageSettings(
    rotated
      ? { ...config, s3AccessKeyId: rotated.access_key_id, s3SecretAccessKey: rotated.secret_access_key }
      : config,
  );
  // The AWS SDK (~30 MiB resident once loaded) only for a server that has a bucket.
  const bucket =
    settings instanceof ReachError
      ? settings
      : new (await import('./s3-object-store.ts')).S3ObjectStore(settings);
  const exchanges = new ExchangeStore(deps.db);
  const service = new ExchangeService({ bucket, exchanges, ...deps, log });
  const catalog = new ExchangeCatalog({ bucket: () => service.bucket, exchanges, log });
  const missing = [
    ...(config.cloudflareApiToken ? [] : ['REACH_CLOUDFLARE_API_TOKEN or CLOUDFLARE_API_TOKEN']),
    ...(config.r2AccountId ? [] : ['R2_ACCOUNT_ID']),
  ];
  const api =
    missing.length > 0
      ? new ReachError(
          'ROTATION_NOT_CONFIGURED',
          `key rotation is not configured: set ${missing.join(', ')}`,
          {
            details: { missing },
            recoveryHint: 'give the server a Cloudflare API token that may manage account API tokens',
          },
        )
      : new CloudflareTokenApi({
          baseUrl: config.cloudflareApiBase,
          accountId: config.r2AccountId!,
          apiToken: config.cloudflareApiToken!,
        });
  const rotation = new KeyRotation({
    api,
    bucket: () => service.bucket,
    bucketName: settings instanceof ReachError ? '' : settings.bucket,
    current: {
      accessKeyId: settings instanceof ReachError ? '' : settings.accessKeyId,
      rotatedAt: rotated?.rotated_at ?? config.s3RotatedAt ?? null,
    },
    dataDir: config.dataDir,
    envFile: config.s3CredentialsEnvFile,
    log,
  });
  if (!(settings instanceof ReachError)) {
    service.start();
    catalog.start();
    // Endpoint and bucket only: keys are never logged.
    log.info(
      { endpoint: settings.endpoint, bucket: settings.bucket, rotated: rotated !== undefined },
      'exchange bucket configured',
    );
  }
  return {
    service,
    catalog,
    rotation,
    close: () => {
      catalog.close();
      service.close();
    },
  };
}
