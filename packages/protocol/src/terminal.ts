import { z } from 'zod';
import { isErrorCode, ReachError } from './errors.ts';

/**
 * The browser-terminal stream protocol, spoken on a `stream` channel of its own (like transfers,
 * never inside RPC frames). The server's first frame is a length-prefixed JSON `TerminalOpen`
 * (framing.ts, the same shape as a transfer request, so the client tells them apart by `op`).
 * After it both sides send typed frames: 1 byte type, 4-byte big-endian payload length, payload.
 *
 *   S: TerminalOpen{op:terminal, cols, rows}
 *   C: ready{pid, shell} | error{…}
 *   S: data (keystrokes) | resize{cols, rows}       C: data (PTY output) … exit{code, signal}
 *
 * Nothing relies on EOF (ssh2 server channels cannot half-close, PITFALLS 3): the client ends
 * the channel after its exit or error frame; the server closing the channel kills the shell.
 * Pure (no node:*), like framing.ts.
 */
export const TERMINAL = {
  version: 1,
  /** Largest frame payload a receiver accepts; writers split data larger than this. */
  maxPayloadBytes: 256 * 1024,
  /** Largest terminal width or height (xterm's own limits are far below). */
  maxDimension: 1000,
} as const;

const Dimension = z.number().int().min(1).max(TERMINAL.maxDimension);

export const TerminalSize = z.object({ cols: Dimension, rows: Dimension });
export type TerminalSize = z.infer<typeof TerminalSize>;

/** The server's first frame on a terminal stream. */
export const TerminalOpen = z.object({
  op: z.literal('terminal'),
  v: z.literal(TERMINAL.version),
  cols: Dimension,
  rows: Dimension,
});
export type TerminalOpen = z.infer<typeof TerminalOpen>;

const TerminalReady = z.object({ pid: z.number().int().min(0), shell: z.string().max(4096) });
const TerminalExit = z.object({
  code: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
});
const TerminalError = z.object({
  error: z.string().max(64),
  message: z.string().max(4096),
  details: z.record(z.string(), z.unknown()).optional(),
  recovery_hint: z.string().max(1024).optional(),
});

export type TerminalFrame =
  | { type: 'data'; data: Uint8Array }
  | ({ type: 'resize' } & TerminalSize)
  | ({ type: 'ready' } & z.infer<typeof TerminalReady>)
  | ({ type: 'exit' } & z.infer<typeof TerminalExit>)
  | { type: 'error'; error: ReachError };

const TYPE_CODES = { data: 1, resize: 2, ready: 3, exit: 4, error: 5 } as const;
const CONTROL_SCHEMAS = {
  2: TerminalSize,
  3: TerminalReady,
  4: TerminalExit,
  5: TerminalError,
} as const;
const HEADER_BYTES = 5;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function frameOf(code: number, payload: Uint8Array, offset = 0, length = payload.byteLength): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + length);
  const view = new DataView(out.buffer);
  view.setUint8(0, code);
  view.setUint32(1, length, false);
  out.set(payload.subarray(offset, offset + length), HEADER_BYTES);
  return out;
}

/**
 * Encodes one frame. Data larger than `maxPayloadBytes` becomes several data frames (returned
 * together, in order), so a writer never produces a frame the reader refuses.
 */
export function encodeTerminalFrame(frame: TerminalFrame): Uint8Array {
  if (frame.type === 'data') {
    const { data } = frame;
    if (data.byteLength <= TERMINAL.maxPayloadBytes) return frameOf(TYPE_CODES.data, data);
    const parts: Uint8Array[] = [];
    for (let at = 0; at < data.byteLength; at += TERMINAL.maxPayloadBytes) {
      parts.push(
        frameOf(TYPE_CODES.data, data, at, Math.min(TERMINAL.maxPayloadBytes, data.byteLength - at)),
      );
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
  const { type, ...body } = frame;
  const json = frame.type === 'error' ? frame.error.toJSON() : body;
  return frameOf(TYPE_CODES[type], encoder.encode(JSON.stringify(json)));
}

/** A malformed frame: the stream cannot be resynchronised, so the reader drops the channel. */
function malformed(message: string): ReachError {
  return new ReachError('CONNECTION_ERROR', `terminal stream: ${message}`);
}

/**
 * Incremental decoder for typed frames. Buffers at most one frame (payload limit plus header);
 * data payloads are handed over as views of the received chunk when a frame fits in one.
 * Throws a ReachError on an unknown type, an oversized length or a control body that fails its
 * schema.
 */
export class TerminalFrameDecoder {
  #pending: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): TerminalFrame[] {
    let buf = chunk;
    if (this.#pending.byteLength > 0) {
      buf = new Uint8Array(this.#pending.byteLength + chunk.byteLength);
      buf.set(this.#pending, 0);
      buf.set(chunk, this.#pending.byteLength);
    }
    const out: TerminalFrame[] = [];
    let at = 0;
    while (buf.byteLength - at >= HEADER_BYTES) {
      const view = new DataView(buf.buffer, buf.byteOffset + at, HEADER_BYTES);
      const code = view.getUint8(0);
      const length = view.getUint32(1, false);
      if (length > TERMINAL.maxPayloadBytes) throw malformed(`frame of ${length} bytes is over the limit`);
      if (code < 1 || code > 5) throw malformed(`unknown frame type ${code}`);
      if (buf.byteLength - at - HEADER_BYTES < length) break;
      const payload = buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
      at += HEADER_BYTES + length;
      out.push(decodePayload(code, payload));
    }
    this.#pending = at === buf.byteLength ? new Uint8Array(0) : buf.slice(at);
    return out;
  }
}

function decodePayload(code: number, payload: Uint8Array): TerminalFrame {
  if (code === TYPE_CODES.data) return { type: 'data', data: payload };
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch {
    throw malformed('control frame is not JSON');
  }
  const schema = CONTROL_SCHEMAS[code as keyof typeof CONTROL_SCHEMAS];
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw malformed(`control frame ${code}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  switch (code) {
    case TYPE_CODES.resize:
      return { type: 'resize', ...(parsed.data as TerminalSize) };
    case TYPE_CODES.ready:
      return { type: 'ready', ...(parsed.data as z.infer<typeof TerminalReady>) };
    case TYPE_CODES.exit:
      return { type: 'exit', ...(parsed.data as z.infer<typeof TerminalExit>) };
    default: {
      const body = parsed.data as z.infer<typeof TerminalError>;
      const error = new ReachError(isErrorCode(body.error) ? body.error : 'INTERNAL_ERROR', body.message, {
        ...(body.details === undefined ? {} : { details: body.details }),
        ...(body.recovery_hint === undefined ? {} : { recoveryHint: body.recovery_hint }),
      });
      return { type: 'error', error };
    }
  }
}
