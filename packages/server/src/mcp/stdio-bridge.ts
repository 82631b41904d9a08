import type { Readable, Writable } from 'node:stream';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log/logger.ts';

export interface StdioBridgeOptions {
  /** The daemon's Streamable HTTP endpoint (`http://127.0.0.1:8765/mcp`). */
  url: string;
  /** Sent as `Authorization: Bearer`; never logged. */
  apiKey?: string | undefined;
  log: Logger;
  stdin?: Readable;
  stdout?: Writable;
  /** Aborting ends the bridge (bin.ts: SIGINT/SIGTERM). */
  signal?: AbortSignal | undefined;
}

/** JSON-RPC "internal error": what a request gets back when the daemon cannot be reached. */
const INTERNAL_ERROR = -32603;

/**
 * MCP over this process's stdio, relayed message by message to a running reach-server daemon's
 * Streamable HTTP endpoint: what `--transport stdio` does when a daemon on the same data dir
 * already holds the SSH port. The MCP host sees one ordinary stdio server; the daemon sees one
 * ordinary HTTP session (its own selected client, its own audit caller). Resolves when stdin ends,
 * the signal aborts, or the daemon ends the session.
 */
export async function runStdioBridge(opts: StdioBridgeOptions): Promise<void> {
  const { log } = opts;
  const upstream = new StreamableHTTPClientTransport(new URL(opts.url), {
    requestInit: opts.apiKey === undefined ? {} : { headers: { Authorization: `Bearer ${opts.apiKey}` } },
  });
  const downstream = new StdioServerTransport(opts.stdin, opts.stdout);
  const stdin = opts.stdin ?? process.stdin;
  /** The id of the host's `initialize` request: its answer fixes the protocol version header. */
  let initializeId: string | number | undefined;

  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  /**
   * Settles once the `initialize` POST has been answered: its response carries the session id
   * every later message must send, so nothing else goes out before it.
   */
  let initialized: Promise<unknown> = Promise.resolve();
  const forward = (message: JSONRPCMessage): Promise<void> => {
    if (isJSONRPCRequest(message) && message.method === 'initialize') {
      initializeId = message.id;
      const sent = upstream.send(message);
      initialized = sent.catch(() => {});
      return sent;
    }
    return initialized.then(() => upstream.send(message));
  };
  downstream.onmessage = (message: JSONRPCMessage) => {
    forward(message).catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'daemon did not take a message');
      if (!isJSONRPCRequest(message)) return;
      // The host waits for an answer to every request: give it one rather than a hang.
      void downstream.send({
        jsonrpc: '2.0',
        id: message.id,
        error: {
          code: INTERNAL_ERROR,
          message: `reach-server daemon at ${opts.url} did not answer: ${(err as Error).message}`,
        },
      });
    });
  };
  upstream.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCResultResponse(message) && message.id === initializeId) {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') upstream.setProtocolVersion(version);
    }
    void downstream.send(message);
  };
  let closing = false;
  // Closing aborts the open GET stream: that is not worth a warning.
  upstream.onerror = (err) => {
    if (!closing) log.warn({ err: err.message }, 'daemon stream error');
  };
  downstream.onerror = (err) => log.warn({ err: err.message }, 'stdio error');
  upstream.onclose = finish;
  stdin.once('end', finish);
  stdin.once('close', finish);
  opts.signal?.addEventListener('abort', finish, { once: true });

  await upstream.start();
  await downstream.start();
  log.info({ url: opts.url }, 'mcp stdio bridged to the running daemon');
  try {
    await finished;
  } finally {
    closing = true;
    opts.signal?.removeEventListener('abort', finish);
    // Ends the daemon's session for this host (DELETE), so it does not wait for its idle timeout.
    await upstream.terminateSession().catch(() => {});
    await upstream.close().catch(() => {});
    await downstream.close().catch(() => {});
  }
}
