import { CONTROL_METHODS, LIMITS, LINK, ReachError } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import type { Logger } from '../log/logger.ts';
import { connectSsh } from './ssh-connect.ts';

export interface ControlTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  knownHostsPath: string;
  log: Logger;
  /** Told in words when the server host key is pinned on first use. */
  onPinned?: ((text: string) => void) | undefined;
}

export type ControlMethod = keyof typeof CONTROL_METHODS;

/** Calls a control method on an open control channel; the result is validated. */
export type ControlCall = (method: ControlMethod, params: object) => Promise<unknown>;

/**
 * Calls one control method on the server over the `reach-control` subsystem of a short SSH
 * connection (the client key is the credential; no HTTP API key). The result is validated.
 */
export function callControl(
  opts: ControlTarget,
  method: ControlMethod,
  params: object,
  callOpts: { timeoutMs?: number } = {},
): Promise<unknown> {
  return withControl(opts, (call) => call(method, params), callOpts);
}

/**
 * Opens one control channel and runs `work` with it (several calls, e.g. the pages of
 * list_clients, on one connection and one handshake); closes it however `work` ends.
 * `timeoutMs` is each call's deadline.
 */
export async function withControl<T>(
  opts: ControlTarget,
  work: (call: ControlCall) => Promise<T>,
  callOpts: { timeoutMs?: number } = {},
): Promise<T> {
  const client = await connectSsh(opts);
  try {
    const stream = await new Promise<import('node:stream').Duplex>((resolve, reject) => {
      client.subsys(LINK.controlSubsystem, (err, channel) => {
        if (err) reject(new ReachError('SSH_CONNECTION_FAILED', `control subsystem refused: ${err.message}`));
        else resolve(channel);
      });
    });
    // The server refuses requests past maxControlRequestBytes; its replies may be full-size.
    const peer = peerOverStream(stream, {
      maxFrameBytes: LIMITS.maxFrameBytes,
      maxOutgoingFrameBytes: LIMITS.maxControlRequestBytes,
    });
    try {
      return await work(async (method, params) => {
        const raw = await peer.call(method, params, { timeoutMs: callOpts.timeoutMs ?? 15_000 });
        const parsed = CONTROL_METHODS[method].result.safeParse(raw);
        if (!parsed.success)
          throw new ReachError('INTERNAL_ERROR', `server sent a malformed ${method} result`);
        return parsed.data;
      });
    } finally {
      peer.close();
    }
  } finally {
    client.end();
  }
}
