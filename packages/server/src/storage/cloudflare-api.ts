import { ReachError } from '@reach/protocol';
import { z } from 'zod';

/** One API token as the Cloudflare API lists it. */
export interface ApiToken {
  id: string;
  name: string;
  created_on: string | null;
  status: string | null;
}

/**
 * What key rotation needs of Cloudflare: list, create (scoped to one R2 bucket) and delete account
 * API tokens. An R2 S3 key pair is derived from a token: access key id = token id, secret =
 * SHA-256 (hex) of the token value (Cloudflare's R2 "S3 API compatibility" docs).
 */
export interface TokenApi {
  listTokens(signal?: AbortSignal): Promise<ApiToken[]>;
  /** Creates a token with object read/write on `bucket` only; `value` is shown once. */
  createBucketToken(
    name: string,
    bucket: string,
    signal?: AbortSignal,
  ): Promise<{ id: string; value: string }>;
  deleteToken(id: string, signal?: AbortSignal): Promise<void>;
}

/** Every v4 answer: `{success, errors, messages, result}`. */
const Envelope = z.object({
  success: z.boolean(),
  errors: z.array(z.object({ code: z.number().optional(), message: z.string() }).loose()).default([]),
  messages: z.array(z.unknown()).default([]),
  result: z.unknown(),
});
const Token = z
  .object({
    id: z.string(),
    name: z.string().default(''),
    issued_on: z.string().optional(),
    created_on: z.string().optional(),
    status: z.string().optional(),
  })
  .loose();
const PermissionGroup = z.object({ id: z.string(), name: z.string() }).loose();
/** The permission group that allows object reads and writes on R2 buckets. */
const R2_WRITE_GROUP = 'Workers R2 Storage Bucket Item Write';

export interface CloudflareTokenApiOptions {
  /** `https://api.cloudflare.com/client/v4` in production; a loopback server in tests. */
  baseUrl: string;
  accountId: string;
  /** The API token allowed to manage account tokens; never logged. */
  apiToken: string;
  timeoutMs?: number;
}

/** The Cloudflare v4 API's account-token endpoints over fetch. */
export class CloudflareTokenApi implements TokenApi {
  readonly #o: CloudflareTokenApiOptions;

  constructor(options: CloudflareTokenApiOptions) {
    this.#o = options;
  }

  async listTokens(signal?: AbortSignal): Promise<ApiToken[]> {
    const result = await this.#call('GET', '/tokens?per_page=100', undefined, signal);
    return z
      .array(Token)
      .parse(result)
      .map((t) => ({
        id: t.id,
        name: t.name,
        created_on: t.issued_on ?? t.created_on ?? null,
        status: t.status ?? null,
      }));
  }

  async createBucketToken(
    name: string,
    bucket: string,
    signal?: AbortSignal,
  ): Promise<{ id: string; value: string }> {
    const groups = z
      .array(PermissionGroup)
      .parse(await this.#call('GET', '/tokens/permission_groups', undefined, signal));
    const write = groups.find((g) => g.name === R2_WRITE_GROUP);
    if (!write)
      throw new ReachError('INTERNAL_ERROR', `Cloudflare lists no "${R2_WRITE_GROUP}" permission group`);
    const resource = `com.cloudflare.edge.r2.bucket.${this.#o.accountId}_default_${bucket}`;
    const result = await this.#call(
      'POST',
      '/tokens',
      {
        name,
        policies: [
          { effect: 'allow', resources: { [resource]: '*' }, permission_groups: [{ id: write.id }] },
        ],
      },
      signal,
    );
    const created = z
      .object({ id: z.string(), value: z.string().min(1) })
      .loose()
      .parse(result);
    return { id: created.id, value: created.value };
  }

  async deleteToken(id: string, signal?: AbortSignal): Promise<void> {
    await this.#call('DELETE', `/tokens/${encodeURIComponent(id)}`, undefined, signal);
  }

  async #call(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const url = `${this.#o.baseUrl.replace(/\/$/, '')}/accounts/${this.#o.accountId}${path}`;
    const timeout = AbortSignal.timeout(this.#o.timeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.#o.apiToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new ReachError('CONNECTION_ERROR', `Cloudflare API unreachable: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const text = await res.text();
    let envelope: z.infer<typeof Envelope>;
    try {
      envelope = Envelope.parse(JSON.parse(text));
    } catch {
      throw new ReachError(
        'INTERNAL_ERROR',
        `Cloudflare API answered ${res.status} without its JSON envelope`,
      );
    }
    if (!res.ok || !envelope.success) {
      const first = envelope.errors[0];
      throw new ReachError(
        res.status === 401 || res.status === 403 ? 'PERMISSION_DENIED' : 'INTERNAL_ERROR',
        `Cloudflare API ${method} ${path.split('?')[0]} failed (${res.status})${first ? `: ${first.message}` : ''}`,
        { details: { status: res.status, errors: envelope.errors.slice(0, 5) } },
      );
    }
    return envelope.result;
  }
}
