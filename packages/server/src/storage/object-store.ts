import type { Readable } from 'node:stream';

/** Object metadata Reach writes (`x-amz-meta-*`): lowercase keys, ASCII values. */
export type ObjectMetadata = Record<string, string>;

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

export interface ObjectInfo extends ListedObject {
  metadata: ObjectMetadata;
}

/** One presigned PUT a client makes: the bytes `[offset, offset + length)` of its file. */
export interface PresignedPart {
  /** 1-based multipart part number, or 0 for a single PutObject. */
  part_number: number;
  url: string;
  /** Headers the URL was signed with (the metadata of a single PUT): sent exactly as given. */
  headers: Record<string, string>;
  offset: number;
  length: number;
}

/** An upload someone else (a client) carries out with presigned URLs; the server finishes it. */
export interface UploadPlan {
  parts: PresignedPart[];
  /** Completes a multipart upload from the parts' ETags (a no-op for a single PUT). */
  complete(etags: ReadonlyArray<{ part_number: number; etag: string }>): Promise<void>;
  /** Drops whatever was uploaded: the object does not appear. Never throws. */
  abort(): Promise<void>;
}

export interface StoreCallOptions {
  signal?: AbortSignal | undefined;
  /** Body bytes sent so far. */
  onProgress?: ((done: number) => void) | undefined;
}

/**
 * The exchange bucket as Reach uses it. One implementation today (s3-object-store.ts, the AWS SDK
 * v3, for R2 and any S3-compatible endpoint); the interface keeps the SDK out of everything else.
 * Failures are ReachErrors: R2_UPLOAD_ERROR / R2_DOWNLOAD_ERROR, FILE_NOT_FOUND for a missing key.
 */
export interface ObjectStore {
  /** Streams `size` bytes of `body` to `key`: one PutObject up to 64 MiB, multipart above. */
  put(
    key: string,
    body: Readable,
    size: number,
    metadata: ObjectMetadata,
    opts?: StoreCallOptions,
  ): Promise<void>;
  /** The object's body as a stream, with its size and metadata. */
  get(key: string, opts?: StoreCallOptions): Promise<{ body: Readable; info: ObjectInfo }>;
  /** Undefined when there is no such key. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Objects under `prefix`, in key order, at most `limit` (paged through ListObjectsV2). */
  list(prefix: string, limit: number): Promise<ListedObject[]>;
  /** Deletes `key`; deleting a missing key succeeds (S3 semantics). */
  delete(key: string): Promise<void>;
  /** A GET URL valid for `expiresS` seconds from the store's clock. */
  presignGet(key: string, expiresS: number): Promise<string>;
  /** Presigned PUTs covering `size` bytes (one PUT up to 64 MiB, parts above) and how to finish them. */
  planUpload(key: string, size: number, metadata: ObjectMetadata, expiresS: number): Promise<UploadPlan>;
  /** The object key a URL of this bucket names, or undefined when the URL is not this bucket's. */
  keyOfUrl(url: string): string | undefined;
  /** Switches to new credentials for every later request (key rotation, no restart). */
  setCredentials(accessKeyId: string, secretAccessKey: string): void;
  close(): void;
}
