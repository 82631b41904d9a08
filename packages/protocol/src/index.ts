export * from './agent-methods.ts';
export * from './errors.ts';
export * from './framing.ts';
export * from './json-rpc.ts';
export * from './limits.ts';
export * from './rpc-peer.ts';
export * from './ssh-session-methods.ts';
