export * from './agent-methods.ts';
export * from './errors.ts';
export * from './exchange-methods.ts';
export * from './framing.ts';
export * from './job-methods.ts';
export * from './json-rpc.ts';
export * from './limits.ts';
export * from './link-methods.ts';
export * from './paths.ts';
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
export * from './transfer.ts';
