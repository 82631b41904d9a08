/** One finished operation, as told to observers (audit trail, webhooks, history, live events). */
export interface OperationRecord {
  /** The tool's name, or the operation's (`terminal_open`, `http_upload`). */
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
