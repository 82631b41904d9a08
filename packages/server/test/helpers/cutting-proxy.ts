/**
 * A loopback TCP proxy in front of the S3 server that can play a bucket outage: `cutAfter(n)`
 * lets `n` more bytes through (either way) and then drops every connection and refuses new ones
 * until `heal()`. Requests keep their Host header, so presigned URLs made for the proxy verify.
 */

import type { AddressInfo } from 'node:net';
import { connect, createServer, type Socket } from 'node:net';

export interface CuttingProxy {
  port: number;
  endpoint: string;
  /** Bytes forwarded so far, both ways. */
  readonly forwarded: number;
  cutAfter(bytes: number): void;
  /** Resolves once the armed cut has happened. */
  cut: () => Promise<void>;
  heal(): void;
  close(): Promise<void>;
}

export async function startCuttingProxy(targetPort: number): Promise<CuttingProxy> {
  const sockets = new Set<Socket>();
  let forwarded = 0;
  let budget = Number.POSITIVE_INFINITY;
  let down = false;
  let onCut: (() => void) | undefined;
  let cutDone = Promise.resolve();
  const drop = (): void => {
    down = true;
    for (const s of sockets) s.destroy();
    sockets.clear();
    onCut?.();
  };
  const count = (n: number): void => {
    forwarded += n;
    budget -= n;
    if (budget <= 0 && !down) drop();
  };
  const server = createServer((inbound) => {
    if (down) {
      inbound.destroy();
      return;
    }
    const outbound = connect(targetPort, '127.0.0.1');
    sockets.add(inbound);
    sockets.add(outbound);
    const relay = (from: Socket, to: Socket): void => {
      from.on('data', (c: Buffer) => {
        if (down) return;
        to.write(c);
        count(c.length);
      });
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    };
    relay(inbound, outbound);
    relay(outbound, inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    get forwarded() {
      return forwarded;
    },
    cutAfter: (bytes) => {
      budget = bytes;
      cutDone = new Promise<void>((resolve) => {
        onCut = resolve;
      });
    },
    cut: () => cutDone,
    heal: () => {
      down = false;
      budget = Number.POSITIVE_INFINITY;
      onCut = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
