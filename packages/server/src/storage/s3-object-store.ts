import { type Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type ErrorCode, ReachError } from '@reach/protocol';
import type {
  ListedObject,
  ObjectInfo,
  ObjectMetadata,
  ObjectStore,
  PresignedPart,
  StoreCallOptions,
  UploadPlan,
} from './object-store.ts';
import type { StorageSettings } from './storage-settings.ts';

const MIB = 1024 * 1024;
/** Above this a file goes up in parts (the issue's figure; R2 and S3 take up to 5 GiB in one PUT). */
export const MULTIPART_THRESHOLD = 64 * MIB;
/**
 * Parts the server itself uploads (lib-storage) are 8 MiB, 4 in flight: lib-storage buffers at
 * most queueSize × partSize, so 32 MiB of part buffers whatever the file's size.
 */
const SERVER_PART_BYTES = 8 * MIB;
const SERVER_QUEUE = 4;
/** Parts a client uploads are streamed from its disk, so they can be large: fewer URLs to sign. */
const CLIENT_PART_BYTES = 64 * MIB;
/** S3's limit on parts per upload. */
const MAX_PARTS = 10_000;

export interface S3ObjectStoreOptions {
  /** Clock for presigned URLs (ms since the epoch); injected by tests to make expired URLs. */
  now?: () => number;
}

/** The S3 error name and HTTP status an SDK failure carries, without anything secret. */
function sdkFailure(err: unknown, code: ErrorCode, what: string, key: string): ReachError {
  if (err instanceof ReachError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'AbortError') return new ReachError('CANCELLED', `${what} cancelled`, { details: { key } });
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) {
    return new ReachError('FILE_NOT_FOUND', `no such object: ${key}`, { details: { key } });
  }
  return new ReachError(code, `${what} failed: ${e.name ?? 'Error'}${e.message ? `: ${e.message}` : ''}`, {
    details: { key, s3_code: e.name ?? null, status: status ?? null },
    cause: err,
  });
}

/**
 * The exchange bucket through the AWS SDK v3 (the only importer of it). Checksums are computed
 * only where an operation requires them: the SDK's default (CRC32 trailers on every upload, SDK
 * 3.729+) is refused by several S3-compatible servers and changes the wire format of a presigned PUT.
 */
export class S3ObjectStore implements ObjectStore {
  readonly #settings: StorageSettings;
  #client: S3Client;
  readonly #now: () => number;

  constructor(settings: StorageSettings, opts: S3ObjectStoreOptions = {}) {
    this.#settings = settings;
    this.#now = opts.now ?? Date.now;
    this.#client = S3ObjectStore.#makeClient(settings, settings.accessKeyId, settings.secretAccessKey);
  }

  static #makeClient(settings: StorageSettings, accessKeyId: string, secretAccessKey: string): S3Client {
    const client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials: { accessKeyId, secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
    // Path-style bucket calls (ListObjectsV2) are signed as `/<bucket>/`; servers that canonicalise
    // the path as `/<bucket>` (s3rver) then compute another signature. Dropping the slash before
    // signing is the same request to S3 and R2.
    client.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { path?: unknown };
        if (typeof req.path === 'string' && /^\/[^/]+\/$/.test(req.path)) req.path = req.path.slice(0, -1);
        return next(args);
      },
      { step: 'build', name: 'reachBucketPathWithoutSlash' },
    );
    return client;
  }

  get bucket(): string {
    return this.#settings.bucket;
  }

  /**
   * A new client with the new key pair for every later call (the SDK memoises static credentials,
   * so they cannot be swapped under a live client). Calls in flight finish on the old one, which
   * is left to close its idle sockets rather than destroyed under them.
   */
  setCredentials(accessKeyId: string, secretAccessKey: string): void {
    this.#client = S3ObjectStore.#makeClient(this.#settings, accessKeyId, secretAccessKey);
  }

  async put(
    key: string,
    body: Readable,
    size: number,
    metadata: ObjectMetadata,
    opts: StoreCallOptions = {},
  ): Promise<void> {
    const Bucket = this.#settings.bucket;
    let sent = 0;
    // Counted on the way through (a 'data' listener on `body` itself would start it flowing
    // before the SDK reads it, and the bytes would be lost).
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          sent += chunk.length;
          opts.onProgress?.(sent);
          done(null, chunk);
        },
      }),
    );
    body.once('error', (err) => counted.destroy(err));
    try {
      if (size <= MULTIPART_THRESHOLD) {
        await this.#client.send(
          new PutObjectCommand({ Bucket, Key: key, Body: counted, ContentLength: size, Metadata: metadata }),
          { abortSignal: opts.signal },
        );
        return;
      }
      const partSize = Math.max(SERVER_PART_BYTES, Math.ceil(size / MAX_PARTS));
      const upload = new Upload({
        client: this.#client,
        params: { Bucket, Key: key, Body: counted, Metadata: metadata },
        partSize,
        queueSize: SERVER_QUEUE,
        // On any failure the multipart upload is aborted: no object and no stray parts.
        leavePartsOnError: false,
      });
      const onAbort = (): void => void upload.abort().catch(() => undefined);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await upload.done();
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      body.destroy();
      counted.destroy();
      throw sdkFailure(
        opts.signal?.aborted ? Object.assign(new Error(), { name: 'AbortError' }) : err,
        'R2_UPLOAD_ERROR',
        'upload',
        key,
      );
    }
  }

  async get(key: string, opts: StoreCallOptions = {}): Promise<{ body: Readable; info: ObjectInfo }> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#settings.bucket, Key: key }), {
        abortSignal: opts.signal,
      });
      return {
        body: out.Body as Readable,
        info: {
          key,
          size: out.ContentLength ?? 0,
          lastModified: out.LastModified ?? new Date(0),
          metadata: out.Metadata ?? {},
        },
      };
    } catch (err) {
      throw sdkFailure(err, 'R2_DOWNLOAD_ERROR', 'download', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.#settings.bucket, Key: key }));
      return {
        key,
        size: out.ContentLength ?? 0,
        lastModified: out.LastModified ?? new Date(0),
        metadata: out.Metadata ?? {},
      };
    } catch (err) {
      const e = sdkFailure(err, 'R2_DOWNLOAD_ERROR', 'head', key);
      if (e.code === 'FILE_NOT_FOUND') return undefined;
      throw e;
    }
  }

  async list(prefix: string, limit: number): Promise<ListedObject[]> {
    const found: ListedObject[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#settings.bucket,
            Prefix: prefix,
            MaxKeys: Math.min(1000, limit - found.length),
            ContinuationToken: token,
          }),
        );
        for (const o of out.Contents ?? []) {
          if (o.Key === undefined) continue;
          found.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token !== undefined && found.length < limit);
    } catch (err) {
      throw sdkFailure(err, 'R2_DOWNLOAD_ERROR', 'list', prefix);
    }
    return found.slice(0, limit);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#settings.bucket, Key: key }));
    } catch (err) {
      throw sdkFailure(err, 'R2_UPLOAD_ERROR', 'delete', key);
    }
  }

  presignGet(key: string, expiresS: number): Promise<string> {
    return getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.#settings.bucket, Key: key }), {
      expiresIn: expiresS,
      signingDate: new Date(this.#now()),
    });
  }

  async planUpload(
    key: string,
    size: number,
    metadata: ObjectMetadata,
    expiresS: number,
  ): Promise<UploadPlan> {
    const Bucket = this.#settings.bucket;
    const signingDate = new Date(this.#now());
    if (size <= MULTIPART_THRESHOLD) {
      const headers = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [`x-amz-meta-${k}`, v]));
      // Metadata stays a signed header (not hoisted into the query), so the client must send it
      // unchanged and the object gets it, on S3 and R2 alike.
      const url = await getSignedUrl(
        this.#client,
        new PutObjectCommand({ Bucket, Key: key, Metadata: metadata }),
        {
          expiresIn: expiresS,
          signingDate,
          unhoistableHeaders: new Set(Object.keys(headers)),
        },
      );
      return {
        parts: [{ part_number: 0, url, headers, offset: 0, length: size }],
        complete: async () => {},
        abort: () => this.delete(key).catch(() => undefined),
      };
    }
    let uploadId: string;
    try {
      const out = await this.#client.send(
        new CreateMultipartUploadCommand({ Bucket, Key: key, Metadata: metadata }),
      );
      if (!out.UploadId) throw new Error('no UploadId in the answer');
      uploadId = out.UploadId;
    } catch (err) {
      throw sdkFailure(err, 'R2_UPLOAD_ERROR', 'create multipart upload', key);
    }
    const partSize = Math.max(CLIENT_PART_BYTES, Math.ceil(size / MAX_PARTS));
    const parts: PresignedPart[] = [];
    for (let n = 1, offset = 0; offset < size; n++, offset += partSize) {
      const url = await getSignedUrl(
        this.#client,
        new UploadPartCommand({ Bucket, Key: key, UploadId: uploadId, PartNumber: n }),
        { expiresIn: expiresS, signingDate },
      );
      parts.push({ part_number: n, url, headers: {}, offset, length: Math.min(partSize, size - offset) });
    }
    const abort = async (): Promise<void> => {
      await this.#client
        .send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
    };
    return {
      parts,
      complete: async (etags) => {
        try {
          await this.#client.send(
            new CompleteMultipartUploadCommand({
              Bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: {
                Parts: [...etags]
                  .sort((a, b) => a.part_number - b.part_number)
                  .map((p) => ({ PartNumber: p.part_number, ETag: p.etag })),
              },
            }),
          );
        } catch (err) {
          await abort();
          throw sdkFailure(err, 'R2_UPLOAD_ERROR', 'complete multipart upload', key);
        }
      },
      abort,
    };
  }

  keyOfUrl(url: string): string | undefined {
    let u: URL;
    let base: URL;
    try {
      u = new URL(url);
      base = new URL(this.#settings.endpoint);
    } catch {
      return undefined;
    }
    const bucket = this.#settings.bucket;
    const path = decodeURIComponent(u.pathname);
    if (u.protocol !== base.protocol) return undefined;
    if (u.host === base.host && path.startsWith(`/${bucket}/`)) return path.slice(bucket.length + 2);
    if (u.host === `${bucket}.${base.host}` && path.length > 1) return path.slice(1);
    return undefined;
  }

  close(): void {
    this.#client.destroy();
  }
}
