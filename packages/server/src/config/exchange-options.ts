import { z } from 'zod';
import type { OptionSpec } from './option-spec.ts';

/**
 * The rows of the server's option table for the file exchange through S3-compatible storage and
 * the R2 key rotation (exchange_*, r2_* tools); SERVER_OPTIONS takes them in at their place.
 */
export const EXCHANGE_OPTIONS = {
  s3Endpoint: {
    flag: 's3-endpoint',
    env: 'S3_ENDPOINT',
    arg: 'URL',
    type: z.url({ protocol: /^https?$/ }).optional(),
    help: 'S3-compatible endpoint of the exchange bucket (R2: derived from R2_ACCOUNT_ID when unset)',
    group: 'exchange',
  },
  s3Region: {
    flag: 's3-region',
    env: 'S3_REGION',
    arg: 'REGION',
    type: z.string().min(1).max(64),
    default: 'auto',
    help: 'region the requests are signed for',
    group: 'exchange',
  },
  s3Bucket: {
    flag: 's3-bucket',
    env: 'S3_BUCKET',
    arg: 'NAME',
    type: z.string().min(1).max(255).optional(),
    help: 'the exchange bucket',
    group: 'exchange',
    aliases: ['R2_BUCKET'],
  },
  s3AccessKeyId: {
    // Keys come from the environment only: a flag would show in `ps`.
    flag: null,
    env: 'S3_ACCESS_KEY_ID',
    type: z.string().min(1).max(256).optional(),
    help: 'access key id of the bucket (also R2_ACCESS_KEY)',
    group: 'exchange',
    aliases: ['R2_ACCESS_KEY'],
  },
  s3SecretAccessKey: {
    flag: null,
    env: 'S3_SECRET_ACCESS_KEY',
    type: z.string().min(1).max(512).optional(),
    help: 'secret access key of the bucket (also R2_SECRET_KEY)',
    group: 'exchange',
    aliases: ['R2_SECRET_KEY'],
  },
  s3ForcePathStyle: {
    flag: 's3-force-path-style',
    env: 'S3_FORCE_PATH_STYLE',
    arg: 'true|false',
    type: z.enum(['true', 'false']).transform((v) => v === 'true'),
    default: 'false',
    help: 'address the bucket in the path instead of the host name',
    group: 'exchange',
  },
  s3CredentialsEnvFile: {
    flag: 's3-credentials-env-file',
    env: 'S3_CREDENTIALS_ENV_FILE',
    arg: 'FILE',
    type: z.string().min(1).optional(),
    help: 'environment file r2_rotate_keys rewrites with the new key pair (default <data-dir>/r2-credentials.json)',
    group: 'exchange',
    path: true,
  },
  s3RotatedAt: {
    flag: null,
    env: 'S3_ROTATED_AT',
    type: z.iso.datetime().optional(),
    help: 'when r2_rotate_keys made the key pair in the environment (ISO 8601)',
    group: 'exchange',
  },
  r2AccountId: {
    flag: null,
    env: 'R2_ACCOUNT_ID',
    type: z
      .string()
      .regex(/^[0-9a-f]{32}$/, '32 hex digits')
      .optional(),
    help: 'Cloudflare account id (32 hex digits; also R2_ACCOUNT_ID)',
    group: 'exchange',
    aliases: ['R2_ACCOUNT_ID'],
  },
  cloudflareApiToken: {
    flag: null,
    env: 'CLOUDFLARE_API_TOKEN',
    type: z.string().min(1).optional(),
    help: 'Cloudflare API token for r2_rotate_keys and friends (also CLOUDFLARE_API_TOKEN)',
    group: 'exchange',
    aliases: ['CLOUDFLARE_API_TOKEN'],
  },
  cloudflareApiBase: {
    flag: null,
    env: 'CLOUDFLARE_API_BASE',
    type: z.url({ protocol: /^https?$/ }),
    default: 'https://api.cloudflare.com/client/v4',
    help: 'the Cloudflare v4 API base URL',
    group: 'exchange',
  },
} as const satisfies Record<string, OptionSpec>;
