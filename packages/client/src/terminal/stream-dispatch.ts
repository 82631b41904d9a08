import type { Duplex } from 'node:stream';
import { encodeTerminalFrame, ReachError, TerminalOpen } from '@reach/protocol';

/** Largest first frame read here; transfer requests and terminal opens are far smaller. */
const MAX_FIRST_FRAME_BYTES = 64 * 1024;
const TERMINAL_OP = 'terminal';

export interface StreamRoutes {
  /** Bulk transfers (transfer-stream-handler.ts): gets the channel with its first frame unread. */
  transfer(channel: Duplex): void;
  terminal(channel: Duplex, open: TerminalOpen): void;
}

/**
 * The one handler of the virtual `stream` forward: reads the server's first frame (4-byte length,
 * JSON) and routes the channel by its `op` — `terminal` to the PTY host, anything else back to
 * the transfer handler with the frame pushed back unread.
 */
export function createStreamDispatcher(routes: StreamRoutes): (channel: Duplex) => void {
  return (channel) => {
    channel.on('error', () => {});
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = head.byteLength === 0 ? chunk : Buffer.concat([head, chunk]);
      if (head.byteLength < 4) return;
      const length = head.readUInt32BE(0);
      if (length <= MAX_FIRST_FRAME_BYTES && head.byteLength < 4 + length) return;
      channel.off('data', onData);
      channel.pause();
      let value: unknown;
      try {
        value =
          length <= MAX_FIRST_FRAME_BYTES ? JSON.parse(head.subarray(4, 4 + length).toString('utf8')) : null;
      } catch {
        value = null;
      }
      if ((value as { op?: unknown } | null)?.op === TERMINAL_OP) {
        const open = TerminalOpen.safeParse(value);
        if (!open.success) {
          const err = new ReachError(
            'INVALID_ARGUMENT',
            `terminal open: ${open.error.issues[0]?.message ?? 'invalid'}`,
          );
          channel.end(encodeTerminalFrame({ type: 'error', error: err }));
          return;
        }
        // The server sends nothing after the open frame before it reads `ready`.
        if (head.byteLength > 4 + length) channel.unshift(head.subarray(4 + length));
        routes.terminal(channel, open.data);
      } else {
        channel.unshift(head);
        routes.transfer(channel);
      }
      // pause() above stopped the flow; the new owner's 'data' listener alone does not restart it.
      channel.resume();
    };
    channel.on('data', onData);
  };
}
