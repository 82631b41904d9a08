import {
  ReachError,
  type RpcHandler,
  type RpcRequestContext,
  SSH_SESSION_METHODS,
  type SshSessionMethod,
} from '@reach/protocol';
import type { z } from 'zod';
import type { Logger } from '../log/logger.ts';
import type { ShellOptions } from '../tunnel/onward-connect.ts';
import type { ReadAllowedFile } from './hop-credentials.ts';
import { SshSessionManager } from './session-manager.ts';

export interface SshSessionHandlerDeps {
  /** The client config dir (ssh_known_hosts, ssh_sessions.json live there). */
  configDir: string;
  log: Logger;
  /** Wall clock in ms; inject a fake one to test idle expiry without waiting. */
  clock?: () => number;
  /**
   * Reads key_file files through the client's path policy (PATH_DENIED outside allowed_paths);
   * absent, they are read by name with no policy.
   */
  readAllowedFile?: ReadAllowedFile;
  /** Most sessions open at once (default 10). */
  maxSessions?: number;
  /** Idle sessions are closed after this many ms (default 30 min). */
  idleTimeoutMs?: number;
  /** Unread output kept per session, in characters (default 1 MiB). */
  maxBufferChars?: number;
  /** Real-time period of the idle sweep in ms (default 60 s; 0 leaves it to calls). */
  sweepIntervalMs?: number;
  /** Per-hop handshake deadline in ms (default 20 s). */
  readyTimeoutMs?: number;
  shell?: Partial<ShellOptions>;
}

export interface SshSessionHandlers {
  /** Agent method name → handler, to merge into the agent's handler map. */
  handlers: Map<string, RpcHandler>;
  /** Closes idle sessions now (by the injected clock); returns their ids. */
  sweepIdle(): string[];
  /** Ends every session; their metadata stays on disk for ssh_session_restore. Idempotent. */
  close(): Promise<void>;
}

function parse<S extends z.ZodType>(schema: S, params: unknown): z.infer<S> {
  const parsed = schema.safeParse(params ?? {});
  if (!parsed.success) {
    throw new ReachError('INVALID_ARGUMENT', 'invalid parameters', {
      details: {
        issues: parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      },
    });
  }
  return parsed.data;
}

/**
 * The seven `ssh_session_*` agent methods over one SshSessionManager. Params are validated with the
 * protocol schemas; results are checked against them before they leave.
 */
export function createSshSessionHandlers(deps: SshSessionHandlerDeps): SshSessionHandlers {
  const { configDir, log, ...rest } = deps;
  const manager = new SshSessionManager({
    configDir,
    log: log.child({ component: 'ssh-sessions' }),
    ...rest,
  });
  const handlers = new Map<string, RpcHandler>();
  const define = <M extends SshSessionMethod, P extends z.ZodType, R extends z.ZodType>(
    method: M,
    schemas: { params: P; result: R },
    run: (params: z.infer<P>, ctx: RpcRequestContext) => Promise<z.input<R>>,
  ): void => {
    handlers.set(method, async (params, ctx) => {
      const input = parse(schemas.params, params);
      await manager.start();
      return schemas.result.parse(await run(input, ctx));
    });
  };
  const M = SSH_SESSION_METHODS;

  define('ssh_session_open', M.ssh_session_open, (p, ctx) => manager.open(p, ctx.signal));
  define('ssh_session_command', M.ssh_session_command, async (p, ctx) => {
    if (p.command.trim() === '') throw new ReachError('INVALID_ARGUMENT', 'command is empty');
    const outcome = await manager.get(p.session_id).command(p.command, p.timeout * 1000, ctx.signal);
    return {
      session_id: p.session_id,
      output: outcome.output,
      exit_code: outcome.exitCode,
      ...(outcome.truncated ? { truncated: true } : {}),
    };
  });
  define('ssh_session_send', M.ssh_session_send, async (p) => {
    const bytes = manager.get(p.session_id).send(p.text, p.send_newline);
    return { session_id: p.session_id, sent: true as const, bytes_sent: bytes };
  });
  define('ssh_session_read', M.ssh_session_read, async (p, ctx) => {
    const outcome = await manager.get(p.session_id).read(p.timeout * 1000, ctx.signal);
    return {
      session_id: p.session_id,
      stdout: outcome.stdout,
      has_more: outcome.hasMore,
      ...(outcome.dropped ? { dropped: true } : {}),
    };
  });
  define('ssh_session_list', M.ssh_session_list, async () => {
    const sessions = manager.list();
    return { sessions, count: sessions.length };
  });
  define('ssh_session_close', M.ssh_session_close, (p) => manager.close(p.session_id));
  define('ssh_session_restore', M.ssh_session_restore, () => manager.restore());

  return {
    handlers,
    sweepIdle: () => manager.sweepIdle(),
    close: () => manager.shutdown(),
  };
}
