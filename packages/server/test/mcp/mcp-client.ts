import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { checkResult } from './check-result.ts';

/** Calls a tool and returns its parsed JSON result, or the parsed error body when isError. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options: { onprogress?: (p: { progress: number }) => void; timeout?: number } = {},
): Promise<{ isError: boolean; body: Record<string, unknown> }> {
  const result = await client.callTool({ name, arguments: args }, undefined, {
    ...(options.onprogress ? { onprogress: options.onprogress } : {}),
    timeout: options.timeout ?? 60_000,
  });
  const content = result.content as { type: string; text: string }[];
  assert.equal(content.length, 1, 'one JSON text block');
  assert.equal(content[0]?.type, 'text');
  const body = JSON.parse(content[0]!.text) as Record<string, unknown>;
  // Every successful result is checked against the schema docs/tools.md prints.
  if (result.isError !== true) checkResult(name, body);
  return { isError: result.isError === true, body };
}

export async function ok(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = await callTool(client, name, args);
  assert.equal(r.isError, false, `${name} failed: ${JSON.stringify(r.body)}`);
  return r.body as Record<string, any>;
}

export async function fails(client: Client, name: string, args: Record<string, unknown>, code: string) {
  const r = await callTool(client, name, args);
  assert.equal(r.isError, true, `${name} should fail with ${code}, got ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error, code, `${name}: ${JSON.stringify(r.body)}`);
  assert.equal(typeof r.body.message, 'string');
  return r.body as Record<string, any>;
}
