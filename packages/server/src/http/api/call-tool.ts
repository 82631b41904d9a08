import type { Operations } from '../../operations/operations.ts';
import type { ApiCaller } from '../auth/api-auth.ts';

/**
 * Runs MCP tool `name` for an /api caller through the operations layer (validated, rate
 * limited, audited, webhooked, in history, on the live view exactly as from MCP); throws the
 * typed error. Each request is its own session: REST has no selected client.
 */
export function callTool(
  operations: Operations,
  name: string,
  args: Record<string, unknown>,
  who: { caller: ApiCaller; signal: AbortSignal },
): Promise<unknown> {
  return operations.call(name, args, {
    caller: who.caller.caller,
    session: { id: who.caller.caller, selectedClient: undefined },
    signal: who.signal,
  });
}

/** Drops undefined values (the tools' schemas are strict about optional keys). */
export function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
