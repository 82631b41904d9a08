/** The campaign's MCP caller: the TypeScript SDK client over Streamable HTTP, one JSON answer per call. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const API_KEY = 'fault-campaign-api-key-0123456789';
/** The SDK's request timeout for a faulted call: 5× the 2 s bound, so a stall is seen as one. */
const CALL_TIMEOUT_MS = 10_000;

export interface ToolAnswer {
  ok: boolean;
  body: Record<string, unknown>;
  /** `ok`, the error code of an isError result, or the message of a thrown error. */
  outcome: string;
}

/** One SDK client session on `/mcp`, answered as plain JSON (no progress token). */
export async function connect(httpPort: number): Promise<Client> {
  const mcp = new Client({ name: 'fault-campaign', version: '1' });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${httpPort}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
    }),
  );
  return mcp;
}

export async function callTool(
  mcp: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<ToolAnswer> {
  try {
    const r = await mcp.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS });
    const text = (r.content as Array<{ text?: string }>)[0]?.text ?? '{}';
    const body = JSON.parse(text) as Record<string, unknown>;
    if (r.isError) return { ok: false, body, outcome: String(body.error ?? 'isError') };
    return { ok: true, body, outcome: 'ok' };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, body: {}, outcome: `thrown: ${message.slice(0, 120)}` };
  }
}
