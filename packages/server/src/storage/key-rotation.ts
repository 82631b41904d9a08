import { createHash } from 'node:crypto';
import { ReachError } from '@reach/protocol';
import type { Logger } from '../log/logger.ts';
import type { ApiToken, TokenApi } from './cloudflare-api.ts';
import type { ObjectStore } from './object-store.ts';
import { type RotatedCredentials, saveRotatedCredentials, saveToEnvFile } from './rotated-credentials.ts';

const DAY_MS = 86_400_000;

export interface KeyRotationDeps {
  /** The Cloudflare API, or the ROTATION_NOT_CONFIGURED error every call then throws. */
  api: TokenApi | ReachError;
  bucket: () => ObjectStore;
  bucketName: string;
  /** The key pair in use now (from the environment or the last rotation). */
  current: { accessKeyId: string; rotatedAt: string | null };
  dataDir: string;
  /** Where the operator keeps the keys, when not in the data dir (saveToEnvFile). */
  envFile?: string | undefined;
  log: Logger;
  now?: () => number;
}

/**
 * r2_list_tokens / r2_rotate_keys / r2_check_rotation_status. A rotation creates a token scoped
 * to the bucket, switches the running server's bucket client to the key pair derived from it,
 * stores that pair in the data dir (0600) so a restart keeps it, and only then deletes the old
 * token (unless keep_old): a failed delete is reported, and the new key is kept.
 */
export class KeyRotation {
  readonly #deps: KeyRotationDeps;
  readonly #now: () => number;
  #current: { accessKeyId: string; rotatedAt: string | null };

  constructor(deps: KeyRotationDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#current = { ...deps.current };
  }

  #api(): TokenApi {
    const api = this.#deps.api;
    if (api instanceof ReachError) throw api;
    return api;
  }

  async list(signal?: AbortSignal): Promise<{ tokens: ApiToken[]; count: number }> {
    const tokens = await this.#api().listTokens(signal);
    return { tokens, count: tokens.length };
  }

  async rotate(
    opts: { oldAccessKeyId?: string | undefined; keepOld: boolean },
    signal?: AbortSignal,
  ): Promise<{ new_access_key_id: string; old_token_deleted: boolean; message: string }> {
    const api = this.#api();
    const bucket = this.#deps.bucket();
    const old = opts.oldAccessKeyId ?? this.#current.accessKeyId;
    const rotatedAt = new Date(this.#now()).toISOString();
    const token = await api.createBucketToken(
      `reach-r2-${rotatedAt.slice(0, 19)}`,
      this.#deps.bucketName,
      signal,
    );
    const creds: RotatedCredentials = {
      access_key_id: token.id,
      secret_access_key: createHash('sha256').update(token.value).digest('hex'),
      rotated_at: rotatedAt,
    };
    if (this.#deps.envFile) await saveToEnvFile(this.#deps.envFile, creds);
    else await saveRotatedCredentials(this.#deps.dataDir, creds);
    bucket.setCredentials(creds.access_key_id, creds.secret_access_key);
    this.#current = { accessKeyId: creds.access_key_id, rotatedAt };
    this.#deps.log.info({ access_key_id: creds.access_key_id }, 'R2 key rotated');
    if (opts.keepOld) {
      return {
        new_access_key_id: token.id,
        old_token_deleted: false,
        message: `new key in use; ${old} kept`,
      };
    }
    try {
      await api.deleteToken(old, signal);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.#deps.log.warn({ old_access_key_id: old, err: why }, 'old R2 token not deleted');
      return {
        new_access_key_id: token.id,
        old_token_deleted: false,
        message: `new key in use and stored; deleting the old token ${old} failed: ${why}`,
      };
    }
    return {
      new_access_key_id: token.id,
      old_token_deleted: true,
      message: `new key in use; ${old} deleted`,
    };
  }

  status(rotationDays: number): {
    last_rotation: string | null;
    days_since_rotation: number | null;
    rotation_due: boolean;
    next_rotation_in_days: number;
  } {
    const last = this.#current.rotatedAt;
    if (last === null) {
      return { last_rotation: null, days_since_rotation: null, rotation_due: true, next_rotation_in_days: 0 };
    }
    const days = Math.floor((this.#now() - Date.parse(last)) / DAY_MS);
    return {
      last_rotation: last,
      days_since_rotation: days,
      rotation_due: days >= rotationDays,
      next_rotation_in_days: Math.max(0, rotationDays - days),
    };
  }
}
