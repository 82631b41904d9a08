import type { Duplex } from 'node:stream';
import { ReachError, ReleaseFetchRequest, toReachError } from '@reach/protocol';
import { TransferChannel } from '@reach/protocol/node';
import type { Logger } from '../log/logger.ts';
import type { ReleaseStore } from './release-store.ts';

/** Body chunk size: 256 KiB of payload plus the 4-byte header, well under TRANSFER.maxChunkBytes. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Serves one `reach-release` channel a client opened on its link (self-update, source `link`):
 * reads its ReleaseFetchRequest, answers `{ok, size, offset}` and the artifact's bytes from
 * `offset` as framed body chunks, each write waiting for SSH flow control. Only artifacts the
 * version's release.json lists are reachable (ReleaseStore.open). The client checks size,
 * SHA-256 and the manifest's signature itself: the server delivers, it cannot forge.
 */
export async function serveReleaseStream(store: ReleaseStore, stream: Duplex, log: Logger): Promise<void> {
  const ch = new TransferChannel(stream);
  let file: Awaited<ReturnType<ReleaseStore['open']>> | undefined;
  try {
    const req = await ch.readFrame(ReleaseFetchRequest, 'release request');
    file = await store.open(req.version, req.name);
    if (file.name !== req.name) throw new ReachError('FILE_NOT_FOUND', `no release file ${req.name}`);
    if (req.offset > file.size) {
      throw new ReachError('INVALID_ARGUMENT', `offset ${req.offset} is past the ${file.size}-byte artifact`);
    }
    await ch.writeFrame({ ok: true, size: file.size, offset: req.offset });
    if (req.offset < file.size) {
      let framed = Buffer.allocUnsafe(4 + CHUNK_BYTES);
      let filled = 4;
      for await (const chunk of file.stream(req.offset, file.size - 1) as AsyncIterable<Buffer>) {
        let at = 0;
        while (at < chunk.byteLength) {
          const n = Math.min(chunk.byteLength - at, framed.byteLength - filled);
          chunk.copy(framed, filled, at, at + n);
          filled += n;
          at += n;
          if (filled === framed.byteLength) {
            await ch.writeFramedChunk(framed);
            framed = Buffer.allocUnsafe(4 + CHUNK_BYTES);
            filled = 4;
          }
        }
      }
      if (filled > 4) await ch.writeFramedChunk(framed.subarray(0, filled));
    }
    await ch.endBody();
    ch.end();
    log.info(
      { version: req.version, name: req.name, offset: req.offset },
      'release artifact sent over the link',
    );
  } catch (err) {
    const e = toReachError(err);
    log.info({ code: e.code, message: e.message.slice(0, 200) }, 'release request refused');
    try {
      await ch.writeFrame({ ok: false, error: e.code, message: e.message.slice(0, 1000) });
      ch.end();
    } catch {
      ch.destroy();
    }
  } finally {
    await file?.close().catch(() => {});
  }
}
