import { z } from 'zod';
import { OperationId } from './agent-methods.ts';
import { type ErrorBody, isErrorCode, ReachError } from './errors.ts';
import { AbsolutePath } from './paths.ts';

/**
 * The bulk-transfer stream protocol, spoken on a `stream` channel of its own (never inside RPC
 * frames). Control messages are length-prefixed JSON frames (framing.ts); the body between them
 * is a run of chunks, each a 4-byte big-endian length then that many raw bytes, ended by a
 * zero-length chunk. Every step has an explicit length or an explicit reply, so nothing relies on
 * EOF (ssh2 server channels cannot half-close, PITFALLS 3).
 *
 *   put (server → client file or directory)        get (client → server)
 *   S: Request{op:put}                               S: Request{op:get}
 *   C: Offer | Failure                               C: SourceInfo | Failure
 *   S: Start, body chunks, Trailer                   S: Offer | Failure
 *   C: Ack                                           C: Start, body chunks, Trailer
 *                                                    S: Ack
 *
 * The receiver offers the length of a resumable partial file and the SHA-256 of those bytes; the
 * sender hashes the same prefix of its source and starts there when they agree, else at 0.
 */
export const TRANSFER = {
  version: 1,
  /** Largest control frame; requests and replies are small. */
  maxControlFrameBytes: 64 * 1024,
  /** Largest body chunk a receiver accepts. */
  maxChunkBytes: 1024 * 1024,
  /** Chunk size a sender reads and writes. */
  chunkBytes: 512 * 1024,
} as const;

export const TransferKind = z.enum(['file', 'dir']);
export type TransferKind = z.infer<typeof TransferKind>;

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const ByteCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const FileMode = z.number().int().min(0).max(0o7777);
/** Names a resumable partial file; derived by the server from source identity and destination. */
export const ResumeKey = z.string().regex(/^[0-9a-f]{16,64}$/);
const TransferId = z.string().min(1).max(64);

export const TransferRequest = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('put'),
    v: z.literal(TRANSFER.version),
    id: TransferId,
    path: AbsolutePath,
    kind: TransferKind,
    /** Bytes of the file (kind file); absent for a directory (a tar stream of unknown length). */
    size: ByteCount.optional(),
    /** Mode of the destination file, or of the destination directory's root. */
    mode: FileMode.optional(),
    overwrite: z.boolean(),
    /** Keep the partial file under a name derived from this key and resume from it (files only). */
    resume_key: ResumeKey.optional(),
    /** Journal the received file under this operation id (operation-journal.ts). */
    operation_id: OperationId.optional(),
  }),
  z.object({
    op: z.literal('get'),
    v: z.literal(TRANSFER.version),
    id: TransferId,
    path: AbsolutePath,
  }),
]);
export type TransferRequest = z.infer<typeof TransferRequest>;

const ErrorBodySchema = z.object({
  error: z.string().max(64),
  message: z.string().max(4096),
  details: z.record(z.string(), z.unknown()).optional(),
  recovery_hint: z.string().max(1024).optional(),
});

/** Any step can be answered with a failure instead; the channel is finished after it. */
export const TransferFailure = z.object({ ok: z.literal(false), error: ErrorBodySchema });
export type TransferFailure = z.infer<typeof TransferFailure>;

/** get: what the client is about to send. */
export const TransferSourceInfo = z.object({
  ok: z.literal(true),
  kind: TransferKind,
  /** File bytes (a directory reports 0: its tar stream's length is known only at the end). */
  size: ByteCount,
  mode: FileMode,
  mtime_ms: z.number(),
});
export type TransferSourceInfo = z.infer<typeof TransferSourceInfo>;

/** Receiver → sender: where the receiver can start, and the hash of the bytes it already has. */
export const TransferOffer = z.object({
  ok: z.literal(true),
  offset: ByteCount,
  prefix_sha256: Sha256Hex.optional(),
});
export type TransferOffer = z.infer<typeof TransferOffer>;

/** Sender → receiver: the body that follows starts at this source offset (the offer's, or 0). */
export const TransferStart = z.object({ start: z.literal(true), offset: ByteCount });
export type TransferStart = z.infer<typeof TransferStart>;

/** Sender → receiver after the body: the whole source's length and SHA-256 (prefix included). */
export const TransferTrailer = z.union([
  z.object({ ok: z.literal(true), size: ByteCount, sha256: Sha256Hex }),
  TransferFailure,
]);
export type TransferTrailer = z.infer<typeof TransferTrailer>;

/** Receiver → sender, last frame: the destination is in place (or not, and why). */
export const TransferAck = z.union([
  z.object({ ok: z.literal(true), size: ByteCount, sha256: Sha256Hex, entries: ByteCount.optional() }),
  TransferFailure,
]);
export type TransferAck = z.infer<typeof TransferAck>;

/** The failure frame for an error. */
export function transferFailure(err: ReachError): TransferFailure {
  return { ok: false, error: err.toJSON() };
}

/** Rebuilds the ReachError a peer reported in a failure frame. */
export function fromTransferFailure(failure: TransferFailure): ReachError {
  const body = failure.error as Partial<ErrorBody> & { error: string; message: string };
  const code = isErrorCode(body.error) ? body.error : 'TRANSFER_FAILED';
  const options: { details?: Record<string, unknown>; recoveryHint?: string } = {};
  if (body.details) options.details = body.details;
  if (body.recovery_hint) options.recoveryHint = body.recovery_hint;
  return new ReachError(code, body.message, options);
}
