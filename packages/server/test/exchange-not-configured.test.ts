/**
 * A reach-server without a bucket starts, and every exchange tool answers R2_NOT_CONFIGURED naming
 * the variables to set (the server process, over MCP HTTP).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { API_KEY, connect } from './helpers/transfer-e2e-fixture.ts';
import { type ServerProcess, startHttpServer } from './mcp/harness.ts';
import { fails } from './mcp/mcp-client.ts';

describe('exchange tools without a bucket', () => {
  let server: ServerProcess;
  let mcp: Client;
  before(async () => {
    const clean = Object.fromEntries(
      Object.keys(process.env)
        .filter((k) => k.startsWith('R2_') || k.startsWith('REACH_S3_'))
        .map((k) => [k, '']),
    );
    server = await startHttpServer({ apiKey: API_KEY, env: clean });
    mcp = await connect(server.httpPort);
  });
  after(async () => {
    await mcp?.close().catch(() => {});
    await server?.stop();
  });

  test('every exchange tool fails with R2_NOT_CONFIGURED naming the variables', async () => {
    const calls: Array<[string, Record<string, unknown>]> = [
      ['exchange_upload', { local_path: 'x' }],
      ['exchange_download', { transfer_id: '6f9619ff-8b86-4011-b42d-00c04fc964ff', local_path: 'x' }],
      ['exchange_list', {}],
      ['exchange_delete', { transfer_id: '6f9619ff-8b86-4011-b42d-00c04fc964ff', source_client: 'server' }],
    ];
    for (const [tool, args] of calls) {
      const body = await fails(mcp, tool, args, 'R2_NOT_CONFIGURED');
      for (const v of ['R2_ACCOUNT_ID', 'R2_BUCKET', 'R2_ACCESS_KEY', 'R2_SECRET_KEY', 'REACH_S3_ENDPOINT']) {
        assert.ok(String(body.message).includes(v), `${tool}: ${v} named in ${body.message}`);
      }
    }
  });

  test('rotation tools fail with ROTATION_NOT_CONFIGURED naming the API token', async () => {
    for (const tool of ['r2_list_tokens', 'r2_rotate_keys']) {
      const body = await fails(mcp, tool, {}, 'ROTATION_NOT_CONFIGURED');
      assert.ok(String(body.message).includes('REACH_CLOUDFLARE_API_TOKEN'), String(body.message));
    }
  });
});
