import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  type CreateTaskResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { ReachError, toReachError } from '@reach/protocol';
import type { Logger } from '../log/logger.ts';
import type { McpSession } from './mcp-session.ts';
import type { ToolCallRecord, ToolContext, ToolDefinition } from './tool.ts';
import { type ListedTool, listTools } from './tool-listing.ts';
import type { ToolServices } from './tool-services.ts';
import { createdTask, TASKS_CAPABILITY, ToolTasks, taskCreationError } from './tool-tasks.ts';

export interface McpServerDeps {
  services: ToolServices;
  tools: readonly ToolDefinition[];
  version: string;
  log: Logger;
  /** Told about every finished tool call; must not throw or block. */
  onToolCall?: (record: ToolCallRecord) => void;
}

/**
 * Builds the MCP endpoint for one session. Tool calls are dispatched from one table; arguments
 * are validated by the tool's zod schema before any work; every failure is an `isError` result
 * carrying `{error, message, details?, recovery_hint?}`.
 */
export class McpEndpointFactory {
  readonly #deps: McpServerDeps;
  readonly #byName: ReadonlyMap<string, ToolDefinition>;
  readonly #listing: ListedTool[];
  readonly #tasks: ToolTasks;

  constructor(deps: McpServerDeps) {
    this.#deps = deps;
    this.#byName = new Map(deps.tools.map((t) => [t.name, t]));
    this.#listing = listTools(deps.tools);
    this.#tasks = new ToolTasks(this.#byName, async (name, args, ctx) => {
      const r = await this.#run(name, args, ctx, (tool, a) => tool.handler(a, ctx));
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
      { capabilities: { tools: {}, tasks: TASKS_CAPABILITY } },
    );
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: this.#listing }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const { name, arguments: rawArgs } = request.params;
      const progressToken = request.params._meta?.progressToken;
      const ctx: ToolContext = {
        services: this.#deps.services,
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
      if (request.params.task) return this.#startTask(name, rawArgs ?? {}, ctx);
      return this.#call(name, rawArgs ?? {}, ctx);
    });
    this.#tasks.register(server, (signal) => ({
      services: this.#deps.services,
      session,
      signal,
      progress: () => {},
    }));
    return server;
  }

  async #call(name: string, rawArgs: unknown, ctx: ToolContext): Promise<CallToolResult> {
    const r = await this.#run(name, rawArgs, ctx, (tool, args) => tool.handler(args, ctx));
    if (r.ok) return { content: [{ type: 'text', text: JSON.stringify(r.value) }] };
    return { content: [{ type: 'text', text: JSON.stringify(r.error.toJSON()) }], isError: true };
  }

  /**
   * A task-augmented tools/call (MCP 2025-11-25): the tool starts its job and the answer is the
   * task mapped onto it. A tool that cannot run as a task is -32601, as the spec asks.
   */
  async #startTask(name: string, rawArgs: unknown, ctx: ToolContext): Promise<CreateTaskResult> {
    if (!this.#byName.get(name)?.startTask) {
      throw new McpError(ErrorCode.MethodNotFound, `${name} cannot run as a task; call it without task`);
    }
    const r = await this.#run(name, rawArgs, ctx, async (tool, args) => {
      if (!tool.startTask) throw new ReachError('INTERNAL_ERROR', `${name} has no startTask`);
      return { task_id: await tool.startTask(args, ctx) };
    });
    if (!r.ok) throw taskCreationError(r.error);
    return { task: createdTask(r.value.task_id) };
  }

  /** Validates, runs `work` and tells the observers (audit, webhooks), whichever way the call went. */
  async #run<T>(
    name: string,
    rawArgs: unknown,
    ctx: ToolContext,
    work: (tool: ToolDefinition, args: Parameters<ToolDefinition['handler']>[0]) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; error: ReachError }> {
    const log = this.#deps.log.child({ tool: name, mcpSession: ctx.session.id });
    const started = performance.now();
    let args: unknown = rawArgs;
    let outcome = 'OK';
    let result: unknown;
    try {
      const tool = this.#byName.get(name);
      if (!tool) {
        throw new ReachError('INVALID_ARGUMENT', `unknown tool ${name}`, {
          recoveryHint: 'call tools/list for the available tools',
        });
      }
      const parsed = tool.input.safeParse(rawArgs);
      if (!parsed.success) {
        if (tool.auditInvalid) args = tool.auditInvalid(rawArgs);
        throw new ReachError('INVALID_ARGUMENT', `invalid arguments for ${name}`, {
          details: {
            issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          },
        });
      }
      args = parsed.data;
      const value = await work(tool, parsed.data);
      result = value;
      log.debug({ ms: Math.round(performance.now() - started) }, 'tool call ok');
      return { ok: true, value };
    } catch (err) {
      const reachErr = toReachError(err);
      outcome = reachErr.code;
      if (reachErr.code === 'INTERNAL_ERROR') log.error({ err }, 'tool call failed with a bug');
      else log.info({ code: reachErr.code, ms: Math.round(performance.now() - started) }, 'tool call failed');
      return { ok: false, error: reachErr };
    } finally {
      try {
        this.#deps.onToolCall?.({
          tool: name,
          args: ctx.auditArgs ?? args,
          caller: `mcp:${ctx.session.id}`,
          client: ctx.touchedClient,
          outcome,
          durationMs: Math.round(performance.now() - started),
          result,
        });
      } catch (err) {
        log.error({ err }, 'tool call observer failed');
      }
    }
  }
}
