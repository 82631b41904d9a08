import type { ErrorCode } from '@reach/protocol';
import type { z } from 'zod';
import type { McpSession } from './mcp-session.ts';
import type { ToolServices } from './tool-services.ts';

/** What a tool handler gets besides its validated arguments. */
export interface ToolContext {
  services: ToolServices;
  session: McpSession;
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
}

/** One finished tool call, as told to observers (audit trail, activity webhooks). */
export interface ToolCallRecord {
  tool: string;
  /** Validated arguments, or the raw ones when validation failed. Observers redact. */
  args: unknown;
  caller: string;
  client: string | undefined;
  /** 'OK' or the error code. */
  outcome: string;
  durationMs: number;
  result: unknown;
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
