import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  type CreateTaskResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { Logger } from '../log/logger.ts';
import type { CallContext, Operations } from '../operations/operations.ts';
import type { McpSession } from './mcp-session.ts';
import { type ListedTool, listTools } from './tool-listing.ts';
import { createdTask, TASKS_CAPABILITY, ToolTasks, taskCreationError } from './tool-tasks.ts';

export interface McpServerDeps {
  /** The operations layer: every tool call is an operation (validated, limited, audited there). */
  operations: Operations;
  version: string;
  log: Logger;
}

/**
 * Builds the MCP endpoint for one session: tools/list from the operations' definitions, and
 * each tools/call handed to the operations layer with this session as its caller. Every failure
 * is an `isError` result carrying `{error, message, details?, recovery_hint?}`.
 */
export class McpEndpointFactory {
  readonly #deps: McpServerDeps;
  readonly #listing: ListedTool[];
  readonly #tasks: ToolTasks;
  /**
   * One for every Server this factory builds. Left out, each Server makes its own Ajv instance
   * (with formats: 0.4 ms), and a plain-JSON tools/call builds a Server per request (json-call.ts).
   * The server side uses it only to check an elicitation's answer, which Reach never asks for.
   */
  readonly #validator = new AjvJsonSchemaValidator();

  constructor(deps: McpServerDeps) {
    this.#deps = deps;
    this.#listing = listTools(deps.operations.definitions);
    const byName = new Map(deps.operations.definitions.map((t) => [t.name, t]));
    this.#tasks = new ToolTasks(byName, async (name, args, ctx) => {
      const r = await deps.operations.invoke(name, args, ctx);
      if (!r.ok) throw r.error;
      return r.value;
    });
  }

  /** The `tools/list` payload (also used to report its size). */
  get listing(): ListedTool[] {
    return this.#listing;
  }

  create(session: McpSession): Server {
    const server = new Server(
      { name: 'reach', version: this.#deps.version },
      { capabilities: { tools: {}, tasks: TASKS_CAPABILITY }, jsonSchemaValidator: this.#validator },
    );
    const caller = `mcp:${session.id}`;
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: this.#listing }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const { name, arguments: rawArgs } = request.params;
      const progressToken = request.params._meta?.progressToken;
      const call: CallContext = {
        caller,
        session,
        signal: extra.signal,
        progress: (progress, total, message) => {
          if (progressToken === undefined) return;
          extra
            .sendNotification({
              method: 'notifications/progress',
              params: {
                progressToken,
                progress,
                ...(total === undefined ? {} : { total }),
                ...(message === undefined ? {} : { message }),
              },
            })
            .catch(() => {});
        },
      };
      if (request.params.task) return this.#startTask(name, rawArgs ?? {}, call);
      const r = await this.#deps.operations.invoke(name, rawArgs ?? {}, call);
      if (r.ok)
        return { content: [{ type: 'text', text: JSON.stringify(r.value) }] } satisfies CallToolResult;
      return {
        content: [{ type: 'text', text: JSON.stringify(r.error.toJSON()) }],
        isError: true,
      } satisfies CallToolResult;
    });
    this.#tasks.register(server, (signal) => this.#deps.operations.context({ caller, session, signal }));
    return server;
  }

  /**
   * A task-augmented tools/call (MCP 2025-11-25): the tool starts its job and the answer is the
   * task mapped onto it. A tool that cannot run as a task is -32601, as the spec asks.
   */
  async #startTask(name: string, rawArgs: unknown, call: CallContext): Promise<CreateTaskResult> {
    if (!this.#deps.operations.canStartTask(name)) {
      throw new McpError(ErrorCode.MethodNotFound, `${name} cannot run as a task; call it without task`);
    }
    const r = await this.#deps.operations.startTask(name, rawArgs, call);
    if (!r.ok) throw taskCreationError(r.error);
    return { task: createdTask(r.value) };
  }
}
