/**
 * What the server told this client about reconnecting (retry-hint.ts in @reach/protocol): the
 * window its first retry after a lost link is spread over, announced at every hello. Shared by
 * the hello handler, which writes it, and the tunnel, which reads it.
 */
export class ReconnectHints {
  windowMs: number | undefined;
}
