import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { isErrorCode, ReachError } from '@reach/protocol';
import type { DaemonInfo } from '../daemon/daemon-file.ts';
import { SERVER_VERSION } from '../version.ts';

/**
 * A CLI on the daemon's own machine calls one of its tools over its MCP endpoint (the URL and key
 * the daemon wrote to `daemon.json`, 0600 in the data dir): the call is an MCP call like any other,
 * rate limited and audited as `mcp:<session>`. A tool error comes back as the ReachError it was.
 */
export async function callDaemonTool(daemon: DaemonInfo, tool: string, args: object): Promise<unknown> {
  const client = new Client({ name: 'reach-server-cli', version: SERVER_VERSION });
  const transport = new StreamableHTTPClientTransport(new URL(daemon.mcpUrl), {
    requestInit: daemon.apiKey === undefined ? {} : { headers: { Authorization: `Bearer ${daemon.apiKey}` } },
  });
  await client.connect(transport);
  try {
    const r = await client.callTool({ name: tool, arguments: args as Record<string, unknown> });
    const first = (r.content as Array<{ type: string; text?: string }> | undefined)?.[0];
    const body: unknown = first?.type === 'text' ? JSON.parse(first.text ?? 'null') : null;
    if (r.isError) {
      const e = (body ?? {}) as { error?: unknown; message?: unknown };
      throw new ReachError(
        isErrorCode(e.error) ? e.error : 'INTERNAL_ERROR',
        String(e.message ?? 'tool failed'),
      );
    }
    return body;
  } finally {
    await client.close().catch(() => {});
  }
}
