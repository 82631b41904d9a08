import type { ErrorCode } from '@reach/protocol';
import type { z } from 'zod';
import type { OperationServices } from './operation-services.ts';

/**
 * The state a caller keeps between calls: an MCP session, or a browser's sign-in session. Two
 * assistants on one daemon each select their own client.
 */
export interface CallerSession {
  readonly id: string;
  /** UUID of the client selected with select_client, if any. */
  selectedClient: string | undefined;
}

/** What a tool handler gets besides its validated arguments. */
export interface ToolContext {
  services: OperationServices;
  /** Who asks, as audit rows and history name them: `mcp:<session>`, `ui:<session>`, `http:<key id>`. */
  caller: string;
  session: CallerSession;
  /** Aborted when the MCP caller cancels the request or its session closes. */
  signal: AbortSignal;
  /** Sends an MCP progress notification when the caller asked for progress; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): void;
  /** UUID of the client the call acted on, set once it is resolved (for the audit trail). */
  touchedClient?: string;
  /**
   * What the audit trail records instead of the validated arguments, set by a tool that knows
   * one of them is a secret no key name marks (the text `ssh_session_send` types at a prompt).
   */
  auditArgs?: unknown;
  /** The arguments once validated (set by Operations, for the audit trail). */
  validArgs?: unknown;
}

/** One MCP tool: its schema and handler side by side. Handlers throw ReachError for typed failures. */
export interface ToolDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  input: S;
  /**
   * What the handler returns, for docs/tools.md (`npm run docs`) and the MCP tests, which parse
   * every result with it. Never sent in tools/list. Required of every tool by docs.test.ts.
   */
  result?: z.ZodType;
  /**
   * Error codes the tool can answer with besides INVALID_ARGUMENT and INTERNAL_ERROR, which any
   * tool can; for docs/tools.md. Required of every tool by docs.test.ts.
   */
  errors?: readonly ErrorCode[];
  handler(args: z.infer<S>, ctx: ToolContext): Promise<unknown>;
  /**
   * The same work started as an MCP task (tools/call with `params.task`): starts it without
   * waiting and returns the job id (`job-…@<uuid>` or `fan-…`) the task is mapped onto. A tool
   * with it is listed with `execution.taskSupport: "optional"` (tool-tasks.ts).
   */
  startTask?(args: z.infer<S>, ctx: ToolContext): Promise<string>;
  /**
   * What the audit trail records of arguments that failed validation, for a tool whose
   * arguments may hold a secret no key name marks (default: the raw arguments, redacted by key).
   */
  auditInvalid?(raw: unknown): unknown;
}

/** Keeps the schema's inferred type attached to the handler's arguments. */
export function defineTool<S extends z.ZodObject>(tool: ToolDefinition<S>): ToolDefinition {
  return tool as unknown as ToolDefinition;
}
