/**
 * exchange_* with a 300 MiB file, both directions (multipart: 5 parts from the client, 38 from
 * the server), sha256 equal end to end. Real processes: s3rver, reach-server, reach client.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { exchangeE2eFixture } from './helpers/exchange-e2e-fixture.ts';
import { MIB } from './helpers/transfer-e2e-fixture.ts';
import { callTool } from './mcp/mcp-client.ts';

/** Writes `size` random bytes in 8 MiB blocks (never the whole file in memory); returns its sha256. */
async function randomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(path, 'w');
  try {
    for (let done = 0; done < size; ) {
      const block = randomBytes(Math.min(8 * MIB, size - done));
      hash.update(block);
      await fh.write(block);
      done += block.length;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of createReadStream(path)) hash.update(c as Buffer);
  return hash.digest('hex');
}

describe('file exchange, 300 MiB', () => {
  const fx = exchangeE2eFixture();

  test('300 MiB server → bucket → client and client → bucket → server, sha256 equal', async () => {
    const size = 300 * MIB;
    const want = await randomFile(join(fx.root, 'big.bin'), size);
    const call = async (tool: string, args: Record<string, unknown>) => {
      const r = await callTool(fx.mcp, tool, args, { timeout: 600_000 });
      assert.equal(r.isError, false, `${tool}: ${JSON.stringify(r.body)}`);
      return r.body as Record<string, any>;
    };
    const up = await call('exchange_upload', { local_path: 'big.bin' });
    assert.equal(up.sha256, want);
    const onClient = join(fx.clientDir, 'big.bin');
    await call('exchange_download', { transfer_id: up.transfer_id, client_path: onClient });
    assert.equal(await sha256Of(onClient), want);

    const cup = await call('exchange_upload', { client_path: onClient });
    assert.equal(cup.size, size);
    assert.equal(cup.sha256, want);
    await call('exchange_download', { download_url: cup.download_url, local_path: 'big-back.bin' });
    assert.equal(await sha256Of(join(fx.root, 'big-back.bin')), want);
  });
});
