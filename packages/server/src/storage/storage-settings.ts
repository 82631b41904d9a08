import { ReachError } from '@reach/protocol';
import type { ServerConfig } from '../config/server-config.ts';

/** Everything needed to reach the exchange bucket. `secretAccessKey` is never logged or audited. */
export interface StorageSettings {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key` (MinIO, s3rver; R2 takes both). */
  forcePathStyle: boolean;
}

/** A variable the operator can set, and the config key it fills. */
const WANTED = [
  { key: 's3Bucket', vars: 'REACH_S3_BUCKET or R2_BUCKET' },
  { key: 's3AccessKeyId', vars: 'REACH_S3_ACCESS_KEY_ID or R2_ACCESS_KEY' },
  { key: 's3SecretAccessKey', vars: 'REACH_S3_SECRET_ACCESS_KEY or R2_SECRET_KEY' },
] as const;

/**
 * The bucket settings from the server config: `REACH_S3_ENDPOINT`, or Cloudflare R2's endpoint
 * made from `R2_ACCOUNT_ID`. Returns the settings, or the R2_NOT_CONFIGURED error naming the
 * variables still missing (thrown by every exchange tool, so the server starts without a bucket).
 */
export function storageSettings(config: ServerConfig): StorageSettings | ReachError {
  const missing: string[] = [];
  const endpoint =
    config.s3Endpoint ??
    (config.r2AccountId ? `https://${config.r2AccountId}.r2.cloudflarestorage.com` : undefined);
  if (endpoint === undefined) missing.push('REACH_S3_ENDPOINT or R2_ACCOUNT_ID');
  for (const w of WANTED) if (config[w.key] === undefined) missing.push(w.vars);
  if (endpoint === undefined || missing.length > 0) {
    return new ReachError(
      'R2_NOT_CONFIGURED',
      `the exchange bucket is not configured: set ${missing.join(', ')}`,
      {
        details: { missing },
        recoveryHint: 'set the variables in the server environment (deploy/server.env) and restart',
      },
    );
  }
  return {
    endpoint,
    region: config.s3Region,
    bucket: config.s3Bucket!,
    accessKeyId: config.s3AccessKeyId!,
    secretAccessKey: config.s3SecretAccessKey!,
    forcePathStyle: config.s3ForcePathStyle,
  };
}
