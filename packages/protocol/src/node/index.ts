/**
 * The Node side of the protocol, shared by server and client: the RPC pipe over a byte stream
 * (peerOverStream) and the transfer stream protocol (transfer.ts), which both send and both
 * receive. Kept out of the package's main entry, which must stay free of node:*.
 */

export { type BulkHeapPolicy, bulkHeapPolicy } from './bulk-heap-policy.ts';
export { BULK_WINDOW_BYTES, coalesceWrites, widenReceiveWindow } from './channel-window.ts';
export { fsError } from './fs-error.ts';
export {
  DEFAULT_LITTER_POLICY,
  type LitterPolicy,
  type LitterReport,
  LitterSweeper,
} from './litter-sweeper.ts';
export { makeDirs } from './make-dirs.ts';
export { raiseMallocThresholds } from './malloc-thresholds.ts';
export {
  formatPublicKey,
  formatSignature,
  keyIdHex,
  MINISIGN,
  type MinisignPublicKey,
  type MinisignSignature,
  parsePublicKey,
  parseSignature,
  prehash,
  publicKeyFromRaw,
  type SignatureRefusal,
  signatureError,
  verifyMinisign,
} from './minisign.ts';
export { isSymlinkRefusal, OPEN_DIR, OPEN_READ } from './open-flags.ts';
export { openSource, type SendSource } from './open-source.ts';
export { openedPath, procFdPath } from './opened-path.ts';
export {
  OperationIntent,
  OperationJournal,
  type OperationJournalOptions,
  type OperationRecord,
  type OperationStatus,
} from './operation-journal.ts';
export { type PeerOverStreamOptions, peerOverStream } from './peer-over-stream.ts';
export { type PresignedRequest, presignedRequest } from './presigned-http.ts';
export { type VerifiedRelease, verifyReleaseManifest } from './release-signature.ts';
export { SERVICE_V8_FLAGS, serviceCommand } from './service-command.ts';
export { SSH_ALGORITHMS, sshAlgorithms } from './ssh-algorithms.ts';
export { STALE_AFTER_MS, sweepStalePartials } from './stale-partials.ts';
export { pathExists, realSystemOps, runOrThrow, type SystemOps, writeFileReplacing } from './system-ops.ts';
export { safeEntryPath, TarExtractor, type TreeStats } from './tar-dir.ts';
export { tarDirectory } from './tar-directory.ts';
export { TransferChannel, type TransferChannelOptions } from './transfer-channel.ts';
export { partialPath, type ReceiveTarget, receiveTarget } from './transfer-receiver.ts';
export {
  type ConfirmOpened,
  hashPrefix,
  sendSource,
  type TransferOptions,
  type TransferOutcome,
  type TransferProgress,
} from './transfer-sender.ts';
