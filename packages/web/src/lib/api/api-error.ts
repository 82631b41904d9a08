/** The shared error body every /api route answers with: `{error, message, details?, recovery_hint?}`. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
  recovery_hint?: string;
}

/** A failed API call, carrying the server's own code and message (shown to the user as is). */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly recoveryHint: string | undefined;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.code = body.error;
    this.status = status;
    this.recoveryHint = body.recovery_hint;
  }

  /** `PATH_DENIED: path /etc is outside the allowed paths` — code first, so it is searchable. */
  describe(): string {
    return `${this.code}: ${this.message}${this.recoveryHint ? ` (${this.recoveryHint})` : ''}`;
  }
}

function isErrorBody(v: unknown): v is ErrorBody {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ErrorBody).error === 'string' &&
    typeof (v as ErrorBody).message === 'string'
  );
}

/** Reads an error response: the shared JSON when it is one, else the status line. */
export function errorFromBody(status: number, text: string): ApiError {
  try {
    const body: unknown = JSON.parse(text);
    if (isErrorBody(body)) return new ApiError(status, body);
  } catch {
    // not JSON: a proxy or the dev server answered
  }
  return new ApiError(status, {
    error: status === 401 ? 'UNAUTHORIZED' : 'HTTP_ERROR',
    message: `HTTP ${status}`,
  });
}

/** Any thrown value as one line for an alert. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.describe();
  return err instanceof Error ? err.message : String(err);
}
