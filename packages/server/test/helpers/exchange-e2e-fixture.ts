/**
 * Test helper for the exchange_* end-to-end tests: a local S3 server process (SigV4 checked)
 * behind a proxy that can cut the connection, a real reach-server process configured for it
 * (REACH_S3_*), a real reach client process over loopback SSH and an MCP session, started before a
 * describe's tests and stopped after them.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { authorizeKey } from '../../src/commands/authorize.ts';
import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { type ClientHome, type Proc, prepareClientHome, startClient } from '../e2e-harness.ts';
import { callTool, ok } from '../mcp/mcp-client.ts';
import { type CuttingProxy, startCuttingProxy } from './cutting-proxy.ts';
import { S3_BUCKET, S3_KEY, type S3Process, startS3 } from './s3-process.ts';
import { connect, kill, type ServerHandle, startReceiver, startServer } from './transfer-e2e-fixture.ts';

export class ExchangeE2eFixture {
  work!: string;
  dataDir!: string;
  /** The server's default transfer root. */
  root!: string;
  /** The client's only allowed path. */
  clientDir!: string;
  s3!: S3Process;
  proxy!: CuttingProxy;
  server!: ServerHandle;
  home!: ClientHome;
  client!: Proc;
  mcp!: Client;
  receiver!: Awaited<ReturnType<typeof startReceiver>>;

  /** The bucket as the server sees it (through the proxy), for checks and for signing test URLs. */
  bucket(now?: () => number): S3ObjectStore {
    return new S3ObjectStore(
      {
        endpoint: this.proxy.endpoint,
        region: 'auto',
        bucket: S3_BUCKET,
        ...S3_KEY,
        forcePathStyle: true,
      },
      now ? { now } : {},
    );
  }

  async startClient(): Promise<void> {
    this.client = startClient(this.home, this.server.sshPort);
    await this.onlineCount(1);
  }

  /** Resolves once list_clients reports `n` clients online; throws after 20 s. */
  async onlineCount(n: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const r = await callTool(this.mcp, 'list_clients').catch(() => undefined);
      if (r && !r.isError && r.body.online_count === n) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`online count did not reach ${n}`);
  }
}

export function exchangeE2eFixture(): ExchangeE2eFixture {
  const fx = new ExchangeE2eFixture();
  before(async () => {
    fx.work = await mkdtemp(join(tmpdir(), 'reach-exchange-e2e-'));
    fx.dataDir = join(fx.work, 'server');
    fx.root = join(fx.dataDir, 'transfers');
    fx.clientDir = join(fx.work, 'client-files');
    await mkdir(fx.clientDir, { recursive: true });
    await mkdir(join(fx.work, 'extra-root'), { recursive: true });
    fx.s3 = await startS3(join(fx.work, 's3'));
    fx.proxy = await startCuttingProxy(fx.s3.port);
    fx.receiver = await startReceiver();
    fx.server = await startServer(
      fx.dataDir,
      join(fx.work, 'extra-root'),
      fx.receiver.url,
      0,
      fx.s3.env(fx.proxy.endpoint),
    );
    fx.home = await prepareClientHome(join(fx.work, 'client-home'), { allowedPaths: [fx.clientDir] });
    await authorizeKey(fx.dataDir, fx.home.publicKey);
    fx.mcp = await connect(fx.server.httpPort);
    await fx.startClient();
    await ok(fx.mcp, 'select_client', { client_id: fx.home.uuid });
  });
  after(async () => {
    await fx.mcp?.close().catch(() => {});
    await fx.client?.stop();
    if (fx.server) await kill(fx.server.proc, 'SIGTERM');
    await fx.receiver?.close();
    await fx.proxy?.close();
    await fx.s3?.stop();
    await rm(fx.work, { recursive: true, force: true });
  });
  return fx;
}
