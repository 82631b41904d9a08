export * from './agent-methods.ts';
export * from './errors.ts';
export * from './exchange-methods.ts';
export * from './framing.ts';
export * from './job-methods.ts';
export * from './json-rpc.ts';
export * from './limits.ts';
export * from './link-methods.ts';
export * from './paths.ts';
export {
  ARTIFACT_NAME,
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  RELEASE_VERSION,
  type ReleaseArtifact,
  type ReleaseManifest,
  ReleaseManifestSchema,
  SIGNATURE_FILE,
  SUMS_FILE,
  sha256Sums,
} from './release-manifest.ts';
export * from './retry-hint.ts';
export * from './rpc-peer.ts';
export * from './ssh-session-methods.ts';
export {
  environmentAssignment,
  execLine,
  quoteExecWord,
  renderUnit,
  type UnitFile,
  type UnitSection,
} from './systemd-unit.ts';
export * from './terminal.ts';
export * from './transfer.ts';
export {
  LastUpdate,
  ReleaseFetchAnswer,
  ReleaseFetchRequest,
  UPDATE_METHODS,
  UpdateApplyParams,
  UpdateApplyResult,
} from './update-methods.ts';
