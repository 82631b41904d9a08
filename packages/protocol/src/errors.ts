/**
 * The one error vocabulary of Reach: agent RPC, MCP tools and the HTTP API all speak these codes.
 * Each code maps once to a JSON-RPC error number and an HTTP status.
 */
export const ERROR_CODES = {
  NO_ACTIVE_CLIENT: { rpc: -32010, http: 400 },
  CLIENT_NOT_FOUND: { rpc: -32011, http: 404 },
  COMMAND_TIMEOUT: { rpc: -32012, http: 504 },
  COMMAND_FAILED: { rpc: -32013, http: 500 },
  FILE_NOT_FOUND: { rpc: -32014, http: 404 },
  FILE_TOO_LARGE: { rpc: -32015, http: 413 },
  PATH_DENIED: { rpc: -32016, http: 403 },
  PERMISSION_DENIED: { rpc: -32017, http: 403 },
  SSH_KEY_MISMATCH: { rpc: -32018, http: 409 },
  RATE_LIMIT_EXCEEDED: { rpc: -32019, http: 429 },
  CONNECTION_ERROR: { rpc: -32020, http: 502 },
  TIMEOUT: { rpc: -32021, http: 504 },
  CANCELLED: { rpc: -32022, http: 499 },
  FRAME_TOO_LARGE: { rpc: -32023, http: 413 },
  UNAUTHORIZED: { rpc: -32024, http: 401 },
  /** An HTTP request body over the server's limit, refused before it is buffered. */
  PAYLOAD_TOO_LARGE: { rpc: -32025, http: 413 },
  INVALID_ARGUMENT: { rpc: -32602, http: 400 },
  METHOD_NOT_FOUND: { rpc: -32601, http: 404 },
  PARSE_ERROR: { rpc: -32700, http: 400 },
  INVALID_REQUEST: { rpc: -32600, http: 400 },
  INTERNAL_ERROR: { rpc: -32603, http: 500 },
  SSH_AUTH_FAILED: { rpc: -32030, http: 401 },
  SSH_CONNECTION_FAILED: { rpc: -32031, http: 502 },
  SSH_KEY_NOT_FOUND: { rpc: -32032, http: 404 },
  SSH_HOST_KEY_MISMATCH: { rpc: -32033, http: 409 },
  SSH_SESSION_NOT_FOUND: { rpc: -32034, http: 404 },
  SSH_COMMAND_TIMEOUT: { rpc: -32035, http: 504 },
  SSH_SESSION_SEND_ERROR: { rpc: -32036, http: 500 },
  SSH_JUMP_HOST_ERROR: { rpc: -32037, http: 502 },
  SSH_SESSION_RESTORE_ERROR: { rpc: -32038, http: 500 },
  TRANSFER_FAILED: { rpc: -32040, http: 500 },
  INTEGRITY_ERROR: { rpc: -32041, http: 500 },
  /** A release signature that does not verify against the trusted release key (details.reason says why). */
  SIGNATURE_INVALID: { rpc: -32042, http: 422 },
  R2_NOT_CONFIGURED: { rpc: -32050, http: 503 },
  ROTATION_NOT_CONFIGURED: { rpc: -32051, http: 503 },
  R2_UPLOAD_ERROR: { rpc: -32052, http: 502 },
  R2_DOWNLOAD_ERROR: { rpc: -32053, http: 502 },
  /** No job by that id on the client (never started, or pruned past the client's output cap). */
  JOB_NOT_FOUND: { rpc: -32060, http: 404 },
  /**
   * A client would not apply an update: a downgrade, no update_public_key, auto_update off, another
   * update under way, not a self-updatable executable, a full disk (details.reason says which).
   */
  UPDATE_REFUSED: { rpc: -32070, http: 409 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export interface ReachErrorOptions {
  details?: Record<string, unknown>;
  recoveryHint?: string;
  cause?: unknown;
}

/** A failure with a stable code and a message that is safe to show to callers. */
export class ReachError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly recoveryHint: string | undefined;

  constructor(code: ErrorCode, message: string, options: ReachErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReachError';
    this.code = code;
    this.details = options.details;
    this.recoveryHint = options.recoveryHint;
  }

  get rpcCode(): number {
    return ERROR_CODES[this.code].rpc;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  /** The wire shape used by MCP tool errors and the HTTP API. */
  toJSON(): ErrorBody {
    const body: ErrorBody = { error: this.code, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    if (this.recoveryHint !== undefined) body.recovery_hint = this.recoveryHint;
    return body;
  }
}

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  recovery_hint?: string;
}

/** Wraps anything thrown into a ReachError; unknown failures become INTERNAL_ERROR with the cause kept. */
export function toReachError(err: unknown): ReachError {
  if (err instanceof ReachError) return err;
  if (err instanceof Error && err.name === 'AbortError') {
    return new ReachError('CANCELLED', 'operation cancelled', { cause: err });
  }
  if (err instanceof Error && err.name === 'TimeoutError') {
    return new ReachError('TIMEOUT', 'operation timed out', { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ReachError('INTERNAL_ERROR', message || 'internal error', { cause: err });
}

/** The JSON-RPC `error` object for a ReachError: the string code travels in `data.code`. */
export function toRpcError(err: ReachError): RpcErrorObject {
  const data: RpcErrorData = { code: err.code };
  if (err.details !== undefined) data.details = err.details;
  if (err.recoveryHint !== undefined) data.recovery_hint = err.recoveryHint;
  return { code: err.rpcCode, message: err.message, data };
}

export interface RpcErrorData {
  code: ErrorCode;
  details?: Record<string, unknown>;
  recovery_hint?: string;
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: RpcErrorData | unknown;
}

/** Rebuilds a ReachError from a JSON-RPC error object received from a peer. */
export function fromRpcError(error: RpcErrorObject): ReachError {
  const data = error.data as Partial<RpcErrorData> | undefined;
  if (data && isErrorCode(data.code)) {
    const options: ReachErrorOptions = {};
    if (data.details && typeof data.details === 'object') options.details = data.details;
    if (typeof data.recovery_hint === 'string') options.recoveryHint = data.recovery_hint;
    return new ReachError(data.code, error.message, options);
  }
  const byNumber = (Object.keys(ERROR_CODES) as ErrorCode[]).find((c) => ERROR_CODES[c].rpc === error.code);
  return new ReachError(byNumber ?? 'INTERNAL_ERROR', error.message);
}
