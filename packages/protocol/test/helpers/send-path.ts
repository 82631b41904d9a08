import { openSource } from '../../src/node/open-source.ts';
import type { TransferChannel } from '../../src/node/transfer-channel.ts';
import { sendSource, type TransferOutcome } from '../../src/node/transfer-sender.ts';

/** Test helper: sends the file or directory at `path` (opened with openSource, then closed). */
export async function sendPath(ch: TransferChannel, path: string): Promise<TransferOutcome> {
  const source = await openSource(path);
  try {
    return await sendSource(ch, source);
  } finally {
    await source.fh.close();
  }
}
