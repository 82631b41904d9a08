import { ReachError, toReachError } from '@reach/protocol';
import type { ClientDetail } from '../clients/client-service.ts';
import type { Logger } from '../log/logger.ts';
import type { ActivityRecorder } from './activity.ts';
import { withClient } from './client-ref.ts';
import type { LiveEvents } from './live-events.ts';
import type { CallerSession, ToolContext, ToolDefinition } from './operation-definition.ts';
import type { OperationRecord } from './operation-record.ts';
import type { OperationServices } from './operation-services.ts';

/** Who is calling, from the adapter (MCP session, REST request, browser session). */
export interface CallContext {
  /** `mcp:<session>`, `ui:<session>` or `http:<key id>`: what audit rows and history name. */
  caller: string;
  session: CallerSession;
  /** Aborted when the caller goes away (MCP cancel, HTTP client disconnect). */
  signal: AbortSignal;
  /** Progress to the caller, when it asked for it. */
  progress?: (progress: number, total?: number, message?: string) => void;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ReachError };

export interface OperationsDeps {
  services: OperationServices;
  /** Every operation callable by name: the MCP tools' definitions (schema and handler). */
  definitions: readonly ToolDefinition[];
  /** Told about every finished operation. */
  activity: Pick<ActivityRecorder, 'operation'>;
  events: LiveEvents;
  log: Logger;
}

/** What a work function without a tool gets (`perform`). */
export interface PerformSpec {
  /** Operation name, as audit rows show it (`http_download`). */
  op: string;
  caller: string;
  /** UUID, client_id or name of the client to act on. */
  clientRef: string;
  /** What the audit trail records (redacted by key like tool arguments). */
  args: Record<string, unknown>;
  signal: AbortSignal;
}

/**
 * What may be done to a client, whoever asks: each call is validated by its definition's zod
 * schema before any work, resolved to an online client, held to that client's rate limits,
 * given its deadline, and then audited, webhooked, put in command history and on the live
 * view (ActivityRecorder) however it ended. MCP tools and REST routes are adapters over it:
 * a command run from the browser is treated exactly like one run by the assistant.
 */
export class Operations {
  readonly #d: OperationsDeps;
  readonly #byName: ReadonlyMap<string, ToolDefinition>;

  constructor(deps: OperationsDeps) {
    this.#d = deps;
    this.#byName = new Map(deps.definitions.map((t) => [t.name, t]));
  }

  get definitions(): readonly ToolDefinition[] {
    return this.#d.definitions;
  }

  get events(): LiveEvents {
    return this.#d.events;
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The handler context of one call (also what MCP task requests run with). */
  context(call: CallContext): ToolContext {
    return {
      services: this.#d.services,
      caller: call.caller,
      session: call.session,
      signal: call.signal,
      progress: call.progress ?? (() => {}),
    };
  }

  /** Runs operation `name` on `rawArgs` and answers its result or its typed error. */
  invoke(name: string, rawArgs: unknown, call: CallContext): Promise<Outcome<unknown>> {
    const ctx = this.context(call);
    return this.#run(name, rawArgs, ctx, (tool, args) => tool.handler(args, ctx));
  }

  /** Like invoke, throwing the typed error (for adapters whose error path is a throw). */
  async call(name: string, rawArgs: unknown, call: CallContext): Promise<unknown> {
    const r = await this.invoke(name, rawArgs, call);
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** Starts operation `name` as a job without waiting (MCP tasks): the job id. */
  startTask(name: string, rawArgs: unknown, call: CallContext): Promise<Outcome<string>> {
    const ctx = this.context(call);
    return this.#run(name, rawArgs, ctx, (tool, args) => {
      if (!tool.startTask) throw new ReachError('INVALID_ARGUMENT', `${name} cannot run as a task`);
      return tool.startTask(args, ctx);
    });
  }

  /** Whether `name` can start as a job (MCP tasks). */
  canStartTask(name: string): boolean {
    return this.#byName.get(name)?.startTask !== undefined;
  }

  /**
   * Work no definition describes (an HTTP stream to or from a client): the same client
   * resolution, rate limit and activity record as a tool call named `spec.op`. Throws the
   * typed error.
   */
  async perform<T>(spec: PerformSpec, work: (client: ClientDetail) => Promise<T>): Promise<T> {
    const ctx = this.context({
      caller: spec.caller,
      session: { id: spec.caller, selectedClient: undefined },
      signal: spec.signal,
    });
    const r = await this.#observe(spec.op, spec.args, ctx, () => withClient(spec.clientRef, ctx, work));
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** An operation that happened outside a call (a terminal session opened): recorded the same way. */
  record(record: OperationRecord): void {
    try {
      this.#d.activity.operation(record);
    } catch (err) {
      this.#d.log.error({ err, op: record.tool }, 'activity record failed');
    }
  }

  #run<T>(
    name: string,
    rawArgs: unknown,
    ctx: ToolContext,
    work: (tool: ToolDefinition, args: Parameters<ToolDefinition['handler']>[0]) => Promise<T>,
  ): Promise<Outcome<T>> {
    return this.#observe(name, rawArgs, ctx, () => {
      const tool = this.#byName.get(name);
      if (!tool) {
        throw new ReachError('INVALID_ARGUMENT', `unknown tool ${name}`, {
          recoveryHint: 'call tools/list for the available tools',
        });
      }
      const parsed = tool.input.safeParse(rawArgs);
      if (!parsed.success) {
        if (tool.auditInvalid) ctx.auditArgs = tool.auditInvalid(rawArgs);
        throw new ReachError('INVALID_ARGUMENT', `invalid arguments for ${name}`, {
          details: {
            issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          },
        });
      }
      ctx.validArgs = parsed.data;
      return work(tool, parsed.data);
    });
  }

  /** Runs `work` and tells the activity recorder how it went, whichever way. */
  async #observe<T>(
    name: string,
    rawArgs: unknown,
    ctx: ToolContext,
    work: () => Promise<T>,
  ): Promise<Outcome<T>> {
    const log = this.#d.log.child({ tool: name, caller: ctx.caller });
    const started = performance.now();
    let outcome = 'OK';
    let result: unknown;
    try {
      const value = await work();
      result = value;
      log.debug({ ms: Math.round(performance.now() - started) }, 'call ok');
      return { ok: true, value };
    } catch (err) {
      const reachErr = toReachError(err);
      outcome = reachErr.code;
      if (reachErr.code === 'INTERNAL_ERROR') log.error({ err }, 'call failed with a bug');
      else log.info({ code: reachErr.code, ms: Math.round(performance.now() - started) }, 'call failed');
      return { ok: false, error: reachErr };
    } finally {
      this.record({
        tool: name,
        args: ctx.auditArgs ?? ctx.validArgs ?? rawArgs,
        caller: ctx.caller,
        client: ctx.touchedClient,
        outcome,
        durationMs: Math.round(performance.now() - started),
        result,
      });
    }
  }
}
