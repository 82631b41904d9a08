import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  fromTransferFailure,
  ReachError,
  TRANSFER,
  TransferFailure,
  type TransferKind,
  type TransferRequest,
  TransferSourceInfo,
  toReachError,
} from '@reach/protocol';
import {
  type BulkHeapPolicy,
  fsError,
  type LitterSweeper,
  openSource,
  raiseMallocThresholds,
  receiveTarget,
  sendSource,
  TransferChannel,
  type TransferOutcome,
} from '@reach/protocol/node';
import { z } from 'zod';
import type { Logger } from '../log/logger.ts';
import type { TransferRoots } from './transfer-roots.ts';

export interface UploadRequest {
  clientUuid: string;
  /** Server path (absolute, or relative to the default transfer root). */
  localPath: string;
  /** Absolute path on the client. */
  remotePath: string;
  /** Mode of the destination file (or directory root); default: the source's. */
  mode?: number | undefined;
  overwrite: boolean;
  resume: boolean;
  /** The client journals the upload under this id once renamed into place. */
  operationId?: string | undefined;
}

export interface DownloadRequest {
  clientUuid: string;
  remotePath: string;
  localPath: string;
  resume: boolean;
}

export interface TransferCallOptions {
  /** Aborting tears the channel down; the destination stays as it was. */
  signal?: AbortSignal | undefined;
  /** Body bytes moved so far in this run, and the total when known. */
  onProgress?: ((done: number, total: number | undefined) => void) | undefined;
  /** A download into a file: called just before it is renamed into place (TransferOptions). */
  beforeCommit?: ((done: { path: string; size: number; sha256: string }) => Promise<void>) | undefined;
}

/** How the bytes moved: one SSH channel of its own; directories as a tar stream on it. */
export type TransferMethod = 'ssh-stream' | 'ssh-stream-tar';

interface TransferSummary {
  kind: TransferKind;
  /** Bytes of the file, or of the directory's tar stream. */
  size: number;
  sha256: string;
  duration_ms: number;
  throughput_mib_s: number;
  method: TransferMethod;
  /** Offset this run started from (> 0 when a partial file was resumed). */
  resumed_from: number;
  /** Body bytes that crossed the link in this run. */
  bytes_transferred: number;
  /** Directories: entries moved. */
  entries?: number;
  local_path: string;
}

export type UploadResult = { uploaded: string } & TransferSummary;
export type DownloadResult = { downloaded: string } & TransferSummary;

/** Emitted once per completed transfer (webhooks and the audit trail subscribe). */
export interface FileTransferredEvent {
  client_uuid: string;
  direction: 'upload' | 'download';
  kind: TransferKind;
  local_path: string;
  remote_path: string;
  size: number;
  sha256: string;
  duration_ms: number;
  throughput_mib_s: number;
  resumed_from: number;
  bytes_transferred: number;
  at: string;
}

export interface TransferServiceEvents {
  file_transferred: [event: FileTransferredEvent];
}

export interface TransferServiceDeps {
  roots: TransferRoots;
  /** Opens a bulk `stream` channel to an online client. */
  openStream(clientUuid: string): Promise<Duplex>;
  log: Logger;
  /** How the heap runs while transfers are in flight (bulk-heap-policy.ts); V8's defaults when absent. */
  heap?: BulkHeapPolicy | undefined;
  /** Remembers the directories downloads write into; swept at start and after a failed receive. */
  litter?: LitterSweeper | undefined;
}

const SourceInfoOrFailure = z.union([TransferSourceInfo, TransferFailure]);
const MIB = 1024 * 1024;

/**
 * Streams files and directories between the server's transfer roots and a client, each transfer
 * on a channel of its own (never inside RPC frames, so RPC on the same client stays responsive).
 * Both ends hash what moves; the receiver renames into place only after the hashes agree.
 */
export class TransferService extends EventEmitter<TransferServiceEvents> {
  readonly #deps: TransferServiceDeps;

  constructor(deps: TransferServiceDeps) {
    super();
    this.#deps = deps;
  }

  get roots(): readonly string[] {
    return this.#deps.roots.roots;
  }

  async start(): Promise<void> {
    await this.#deps.roots.start();
    const swept = await this.#deps.litter?.start();
    if (swept && swept.removed.length + swept.overCap.length > 0) {
      this.#deps.log.info(swept, 'removed stray temp files');
    }
  }

  async upload(req: UploadRequest, opts: TransferCallOptions = {}): Promise<UploadResult> {
    const local = await this.#deps.roots.check(req.localPath, 'read');
    // Opened and confirmed against the roots first: what is described and sent is the descriptor.
    const source = await openSource(local, (fh, p) => this.#deps.roots.confirmOpen(fh, p)).catch(
      (err: unknown) => {
        throw fsError(err, req.localPath);
      },
    );
    let run: { outcome: TransferOutcome; ms: number };
    try {
      const request: TransferRequest = {
        op: 'put',
        v: TRANSFER.version,
        id: randomUUID(),
        path: req.remotePath,
        kind: source.kind,
        mode: req.mode ?? source.mode,
        overwrite: req.overwrite,
      };
      if (req.operationId !== undefined) request.operation_id = req.operationId;
      if (source.kind === 'file') {
        request.size = source.size;
        if (req.resume) {
          request.resume_key = resumeKey(['put', local, source.size, source.mtimeMs, req.remotePath]);
        }
      }
      run = await this.#run(req.clientUuid, request, opts, (ch) =>
        sendSource(ch, source, { onProgress: opts.onProgress }),
      );
    } finally {
      await source.fh.close();
    }
    const { outcome, ms } = run;
    const summary = this.#summary(source.kind, outcome, ms, local);
    this.#emit(req.clientUuid, 'upload', req.remotePath, summary);
    return { uploaded: req.remotePath, ...summary };
  }

  async download(req: DownloadRequest, opts: TransferCallOptions = {}): Promise<DownloadResult> {
    const local = await this.#deps.roots.check(req.localPath, 'write');
    const request: TransferRequest = {
      op: 'get',
      v: TRANSFER.version,
      id: randomUUID(),
      path: req.remotePath,
    };
    let kind: TransferKind = 'file';
    const { outcome, ms } = await this.#run(req.clientUuid, request, opts, async (ch) => {
      const info = await ch.readFrame(SourceInfoOrFailure, 'source info');
      if (!info.ok) throw fromTransferFailure(info);
      kind = info.kind;
      return receiveTarget(
        ch,
        info.kind === 'file'
          ? {
              kind: 'file',
              path: local,
              size: info.size,
              mode: info.mode,
              overwrite: true,
              resumeKey: req.resume
                ? resumeKey(['get', req.clientUuid, req.remotePath, info.size, info.mtime_ms, local])
                : undefined,
            }
          : { kind: 'dir', path: local, mode: info.mode, overwrite: true },
        {
          onProgress: opts.onProgress,
          // The temp file (or directory) is made, filled and renamed inside the destination's
          // parent, held open and checked by its descriptor (transfer-receiver.ts).
          confirm: (fh, p) => this.#deps.roots.confirmOpen(fh, p),
          openDir: (dir) => this.#deps.roots.openDir(dir),
          litter: this.#deps.litter,
          beforeCommit: opts.beforeCommit,
        },
      );
    });
    const summary = this.#summary(kind, outcome, ms, local);
    this.#emit(req.clientUuid, 'download', req.remotePath, summary);
    return { downloaded: req.remotePath, ...summary };
  }

  async #run(
    clientUuid: string,
    request: TransferRequest,
    opts: TransferCallOptions,
    role: (ch: TransferChannel) => Promise<TransferOutcome>,
  ): Promise<{ outcome: TransferOutcome; ms: number }> {
    opts.signal?.throwIfAborted();
    raiseMallocThresholds();
    const started = performance.now();
    const channel = await this.#deps.openStream(clientUuid);
    channel.on('error', () => {});
    const ch = new TransferChannel(channel, { heap: this.#deps.heap });
    const onAbort = (): void => ch.destroy();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const log = this.#deps.log.child({ clientId: clientUuid, transfer: request.id, op: request.op });
    try {
      await ch.writeFrame(request);
      const outcome = await role(ch);
      const ms = performance.now() - started;
      log.info(
        { path: request.path, size: outcome.size, resumed_from: outcome.resumedFrom, ms: Math.round(ms) },
        'transfer done',
      );
      ch.end();
      return { outcome, ms };
    } catch (err) {
      ch.destroy();
      const e =
        opts.signal?.aborted === true ? new ReachError('CANCELLED', 'transfer cancelled') : toReachError(err);
      log.warn({ code: e.code, msg: e.message, path: request.path }, 'transfer failed');
      throw e;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  #summary(kind: TransferKind, outcome: TransferOutcome, ms: number, local: string): TransferSummary {
    const summary: TransferSummary = {
      kind,
      size: outcome.size,
      sha256: outcome.sha256,
      duration_ms: Math.round(ms),
      throughput_mib_s: ms > 0 ? Math.round((outcome.bytesTransferred / MIB / (ms / 1000)) * 10) / 10 : 0,
      method: kind === 'dir' ? 'ssh-stream-tar' : 'ssh-stream',
      resumed_from: outcome.resumedFrom,
      bytes_transferred: outcome.bytesTransferred,
      local_path: local,
    };
    if (outcome.entries !== undefined) summary.entries = outcome.entries;
    return summary;
  }

  #emit(clientUuid: string, direction: 'upload' | 'download', remotePath: string, s: TransferSummary): void {
    this.emit('file_transferred', {
      client_uuid: clientUuid,
      direction,
      kind: s.kind,
      local_path: s.local_path,
      remote_path: remotePath,
      size: s.size,
      sha256: s.sha256,
      duration_ms: s.duration_ms,
      throughput_mib_s: s.throughput_mib_s,
      resumed_from: s.resumed_from,
      bytes_transferred: s.bytes_transferred,
      at: new Date().toISOString(),
    });
  }
}

/** Names a resumable partial file after the source's identity and the destination. */
function resumeKey(parts: Array<string | number>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
