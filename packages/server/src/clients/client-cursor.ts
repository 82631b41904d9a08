import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ReachError } from '@reach/protocol';
import { z } from 'zod';
import type { ClientFilter, PageKey } from '../db/client-store.ts';

/**
 * Where the next page of a listing starts: the phase (online clients are listed first, then the
 * rest) and the last (display_name, uuid) returned in it.
 */
export interface CursorPosition {
  phase: 'online' | 'offline';
  after: PageKey;
}

const Payload = z.strictObject({
  p: z.enum(['online', 'offline']),
  n: z.string().max(1000),
  u: z.string().max(200),
});

/** Longest cursor accepted, in characters: a 100-character name in UTF-8, base64url, plus the tag. */
export const MAX_CURSOR_CHARS = 1024;

/** Bytes of HMAC-SHA256 kept as the cursor's tag: 96 bits, far past guessing. */
const TAG_BYTES = 12;

const b64 = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/**
 * Opaque list_clients/find_client cursors: base64url JSON of the position, tagged with an HMAC
 * over it and the query it belongs to. A cursor edited by hand, or replayed with other filters,
 * fails the tag and is refused with INVALID_ARGUMENT instead of silently skipping or repeating
 * clients. The key lives in this process only: cursors end when the server restarts (a caller
 * then starts again from the first page).
 */
export class ClientCursors {
  readonly #key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key;
  }

  encode(filter: ClientFilter, position: CursorPosition): string {
    const payload = b64(
      JSON.stringify({ p: position.phase, n: position.after.display_name, u: position.after.uuid }),
    );
    return `${payload}.${this.#tag(filter, payload).toString('base64url')}`;
  }

  /** The position in `cursor`, which must have been issued by this process for `filter`. */
  decode(filter: ClientFilter, cursor: string): CursorPosition {
    const [payload, tag, ...rest] = cursor.split('.');
    const given = Buffer.from(tag ?? '', 'base64url');
    const ok =
      payload !== undefined &&
      rest.length === 0 &&
      cursor.length <= MAX_CURSOR_CHARS &&
      given.length === TAG_BYTES &&
      timingSafeEqual(given, this.#tag(filter, payload));
    const parsed = ok
      ? Payload.safeParse(parseJson(Buffer.from(payload, 'base64url').toString('utf8')))
      : undefined;
    if (!parsed?.success) {
      throw new ReachError('INVALID_ARGUMENT', 'cursor was not issued by this server for this query', {
        recoveryHint:
          'Pass next_cursor unchanged with the same filters, or call again without cursor for the first page (cursors end when the server restarts).',
      });
    }
    return { phase: parsed.data.p, after: { display_name: parsed.data.n, uuid: parsed.data.u } };
  }

  #tag(filter: ClientFilter, payload: string): Buffer {
    return createHmac('sha256', this.#key)
      .update(`${filterKey(filter)}\n${payload}`)
      .digest()
      .subarray(0, TAG_BYTES);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The filter in one canonical spelling (case and order of tags do not change the query). */
function filterKey(f: ClientFilter): string {
  const set = (xs: readonly string[] | undefined) =>
    [...new Set((xs ?? []).map((x) => x.toLowerCase()))].sort();
  return JSON.stringify([
    f.query?.toLowerCase() ?? null,
    f.purpose?.toLowerCase() ?? null,
    set(f.tags),
    set(f.capabilities),
    f.online ?? null,
  ]);
}
