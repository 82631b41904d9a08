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

/**
 * Calls one control method on the server over the `reach-control` subsystem of a short SSH
 * connection (the client key is the credential; no HTTP API key). The result is validated.
 */
export async function callControl(
  opts: ControlTarget,
  method: ControlMethod,
  params: object,
  callOpts: { timeoutMs?: number } = {},
): Promise<unknown> {
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
    const raw = await peer.call(method, params, { timeoutMs: callOpts.timeoutMs ?? 15_000 });
    const parsed = CONTROL_METHODS[method].result.safeParse(raw);
    if (!parsed.success) throw new ReachError('INTERNAL_ERROR', `server sent a malformed ${method} result`);
    peer.close();
    return parsed.data;
  } finally {
    client.end();
  }
}
