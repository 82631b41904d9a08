import type { Duplex } from 'node:stream';
import { ReachError, ReleaseFetchAnswer } from '@reach/protocol';
import { TransferChannel } from '@reach/protocol/node';
import type { ArtifactSource } from './download-artifact.ts';

/**
 * The artifact over the client's own SSH link: a `reach-release` subsystem channel (opened by
 * `openChannel`), one ReleaseFetchRequest frame, the server's answer and the bytes from the
 * offset as framed body chunks. SSH flow control paces it; no port, URL or API key is involved,
 * so a server cannot point the client at another host.
 */
export function linkSource(
  openChannel: (signal: AbortSignal | undefined) => Promise<Duplex>,
  version: string,
  name: string,
): ArtifactSource {
  return {
    describe: 'the server (over the link)',
    open: async (offset, signal) => {
      const ch = new TransferChannel(await openChannel(signal));
      const onAbort = (): void => ch.destroy();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await ch.writeFrame({ version, name, offset });
        const answer = await ch.readFrame(ReleaseFetchAnswer, 'release answer');
        if (!answer.ok) {
          throw new ReachError('TRANSFER_FAILED', `the server did not send ${name}: ${answer.message}`, {
            details: { server_error: answer.error },
          });
        }
        return {
          offset: answer.offset,
          pump: async (sink) => {
            try {
              await ch.readBody(sink);
            } finally {
              signal?.removeEventListener('abort', onAbort);
              ch.end();
            }
          },
        };
      } catch (err) {
        signal?.removeEventListener('abort', onAbort);
        ch.destroy();
        throw err;
      }
    },
  };
}
