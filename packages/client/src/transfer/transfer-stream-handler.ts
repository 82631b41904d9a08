import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { ReachError, TransferRequest, toReachError, transferFailure } from '@reach/protocol';
import {
  type BulkHeapPolicy,
  type ConfirmOpened,
  fsError,
  type OperationJournal,
  openSource,
  raiseMallocThresholds,
  receiveTarget,
  type SendSource,
  sendSource,
  TransferChannel,
  type TransferOptions,
} from '@reach/protocol/node';
import type { Logger } from '../log/logger.ts';

export interface TransferStreamDeps {
  /** The agent's path policy: resolves a path and throws PATH_DENIED outside allowed_paths. */
  checkPath(path: string): Promise<string>;
  /**
   * Confirms a just-opened source or temp file is still inside the policy (PathPolicy.confirmOpen),
   * closing the gap between checkPath and the open; absent, only the name is checked.
   */
  confirm?: ConfirmOpened | undefined;
  /**
   * Opens and confirms a file transfer's destination directory (openConfirmed): the temp file is
   * then created and renamed inside that open directory; absent, by name.
   */
  openDir?: ((dir: string) => Promise<FileHandle>) | undefined;
  /** Remembers the directories received into and sweeps one after a failed receive. */
  litter?: TransferOptions['litter'];
  log: Logger;
  /** How the heap runs while transfers are in flight (bulk-heap-policy.ts); V8's defaults when absent. */
  heap?: BulkHeapPolicy | undefined;
  /** Records a `put` that carries an operation id once it is renamed into place. */
  operations?: OperationJournal | undefined;
}

/**
 * Serves the bulk-transfer channels the server opens to the virtual `stream` forward: `put`
 * writes a file or directory here (atomically, resumable for files), `get` streams one back.
 * Every path goes through the same path policy as the file handlers.
 */
export function createTransferStreamHandler(deps: TransferStreamDeps): (channel: Duplex) => void {
  return (channel) => {
    raiseMallocThresholds();
    channel.on('error', () => {});
    serveTransfer(channel, deps).catch((err: unknown) => {
      deps.log.error({ err }, 'transfer handler failed');
      channel.destroy();
    });
  };
}

async function serveTransfer(channel: Duplex, deps: TransferStreamDeps): Promise<void> {
  const ch = new TransferChannel(channel, { heap: deps.heap });
  let request: TransferRequest;
  try {
    request = await ch.readFrame(TransferRequest, 'request');
  } catch (err) {
    const e = toReachError(err);
    deps.log.warn({ code: e.code, msg: e.message }, 'bad transfer request');
    await ch.writeFrame(transferFailure(e)).catch(() => {});
    ch.end();
    return;
  }
  const log = deps.log.child({ transfer: request.id, op: request.op });
  const started = Date.now();
  try {
    if (request.op === 'put') {
      let path: string;
      try {
        path = await deps.checkPath(request.path);
        // The temp file (or directory) goes beside the destination: its directory must be allowed
        // too, so an allowed root itself cannot be replaced from outside it.
        await deps.checkPath(dirname(path));
        if (request.kind === 'file' && request.size === undefined) {
          throw new ReachError('INVALID_ARGUMENT', 'a file transfer needs its size');
        }
      } catch (err) {
        await ch.writeFrame(transferFailure(fsError(err, request.path))).catch(() => {});
        throw err;
      }
      const opId = request.operation_id;
      const journal = deps.operations;
      // A keyed file names its content in the journal before the rename (transfer-receiver.ts).
      const beforeCommit =
        opId === undefined || !journal
          ? undefined
          : (done: { path: string; size: number; sha256: string }) =>
              journal.intend(opId, {
                ...done,
                result: { uploaded: request.path, kind: 'file', size: done.size, sha256: done.sha256 },
              });
      const receive = () =>
        receiveTarget(
          ch,
          request.kind === 'file'
            ? {
                kind: 'file',
                path,
                size: request.size ?? 0,
                mode: request.mode ?? 0o644,
                overwrite: request.overwrite,
                resumeKey: request.resume_key,
              }
            : // A received directory is extracted inside its temp directory, held open, which is
              // made and renamed inside the confirmed parent (prepare-dir.ts).
              { kind: 'dir', path, mode: request.mode ?? 0o755, overwrite: request.overwrite },
          { confirm: deps.confirm, openDir: deps.openDir, litter: deps.litter, beforeCommit },
        );
      // Applied means: the destination was renamed into place after its SHA-256 matched the
      // sender's. The record is made here, on the side that renames.
      const outcome =
        request.operation_id === undefined || !deps.operations
          ? await receive()
          : ((await deps.operations.run(request.operation_id, 'upload_file', receive, {
              record: (o) => ({ uploaded: request.path, kind: request.kind, size: o.size, sha256: o.sha256 }),
            })) as Awaited<ReturnType<typeof receive>>);
      log.info(
        { path, size: outcome.size, resumed_from: outcome.resumedFrom, ms: Date.now() - started },
        'transfer received',
      );
    } else {
      let source: SendSource;
      try {
        // Opened and confirmed first: what is described to the server and sent is the descriptor.
        source = await openSource(await deps.checkPath(request.path), deps.confirm);
      } catch (err) {
        await ch.writeFrame(transferFailure(fsError(err, request.path))).catch(() => {});
        throw err;
      }
      try {
        await ch.writeFrame({
          ok: true,
          kind: source.kind,
          size: source.kind === 'file' ? source.size : 0,
          mode: source.mode,
          mtime_ms: source.mtimeMs,
        });
        // A directory source is walked from its open root through held-open directories.
        const outcome = await sendSource(ch, source);
        log.info(
          {
            path: source.path,
            size: outcome.size,
            resumed_from: outcome.resumedFrom,
            ms: Date.now() - started,
          },
          'transfer sent',
        );
      } finally {
        await source.fh.close();
      }
    }
  } catch (err) {
    const e = toReachError(err);
    log.warn({ code: e.code, msg: e.message }, 'transfer failed');
  } finally {
    ch.end();
  }
}
