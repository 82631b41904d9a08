/** Test set-up: TransferService ⇄ the client's transfer handler over an in-memory stream pair (no SSH). */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Duplex, duplexPair } from 'node:stream';
import { pino } from 'pino';
import { PathPolicy } from '../../../client/src/agent/path-policy.ts';
import { createTransferStreamHandler } from '../../../client/src/transfer/transfer-stream-handler.ts';
import { TransferRoots } from '../../src/transfer/transfer-roots.ts';
import { type FileTransferredEvent, TransferService } from '../../src/transfer/transfer-service.ts';

const log = pino({ level: 'silent' });

/** Hex sha256 of a buffer. */
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A started TransferService whose streams reach a client transfer handler in-process. */
export interface TransferHarness {
  /** Temporary directory holding both sides; removed by `cleanup()`. */
  base: string;
  /** The service's one transfer root (`<base>/root`). */
  root: string;
  /** The client's one allowed path (`<base>/remote`). */
  remote: string;
  service: TransferService;
  /** Every `file_transferred` event, in order. */
  events: FileTransferredEvent[];
  /** Wraps the next opened stream (to cut it or corrupt it). */
  tap: ((clientEnd: Duplex, serverEnd: Duplex) => Duplex) | undefined;
  /** Runs when a stream is opened: after the service has checked its local path. */
  onOpen: (() => Promise<void>) | undefined;
  /** Removes `base`. */
  cleanup(): Promise<void>;
}

/** Makes a fresh temporary `base`, then builds and starts the service over it. */
export async function startTransferHarness(): Promise<TransferHarness> {
  const base = await mkdtemp(join(tmpdir(), 'reach-xfer-unit-'));
  const root = join(base, 'root');
  const remote = join(base, 'remote');
  await mkdir(remote);
  const policy = new PathPolicy([remote]);
  const handler = createTransferStreamHandler({ checkPath: (p) => policy.check(p), log });
  const harness: TransferHarness = {
    base,
    root,
    remote,
    service: new TransferService({
      roots: new TransferRoots([root]),
      log,
      openStream: async () => {
        await harness.onOpen?.();
        const [serverEnd, clientEnd] = duplexPair();
        handler(harness.tap ? harness.tap(clientEnd, serverEnd) : clientEnd);
        return serverEnd;
      },
    }),
    events: [],
    tap: undefined,
    onOpen: undefined,
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
  harness.service.on('file_transferred', (e) => harness.events.push(e));
  await harness.service.start();
  return harness;
}
