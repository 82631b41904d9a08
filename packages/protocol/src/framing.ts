import { ReachError } from './errors.ts';
import { LIMITS } from './limits.ts';

/**
 * Length-prefixed framing: a 4-byte big-endian body length, then that many bytes of UTF-8 JSON.
 * Pure (no node:*), so the web UI can use it too.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export function encodeFrame(message: unknown, maxFrameBytes: number = LIMITS.maxFrameBytes): Uint8Array {
  const body = encoder.encode(JSON.stringify(message));
  if (body.byteLength > maxFrameBytes) {
    throw new ReachError('FRAME_TOO_LARGE', `frame of ${body.byteLength} bytes exceeds ${maxFrameBytes}`, {
      details: { size: body.byteLength, limit: maxFrameBytes },
    });
  }
  const frame = new Uint8Array(4 + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength, false);
  frame.set(body, 4);
  return frame;
}

export type DecodedFrame = { ok: true; value: unknown } | { ok: false; error: ReachError };

/**
 * Incremental frame decoder. Buffers at most one frame (never more than the limit plus the
 * 4-byte header); an oversized length prefix is reported at once and the decoder refuses all
 * further input, because the stream cannot be resynchronised.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #expected = -1;
  #failed: ReachError | undefined;

  constructor(maxFrameBytes: number = LIMITS.maxFrameBytes) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  get failed(): ReachError | undefined {
    return this.#failed;
  }

  /** Feeds bytes; returns the frames completed by them, in order. */
  push(chunk: Uint8Array): DecodedFrame[] {
    if (this.#failed) return [];
    const out: DecodedFrame[] = [];
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    for (;;) {
      if (this.#expected < 0) {
        if (this.#buffered < 4) break;
        const header = this.#take(4);
        const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0, false);
        if (length > this.#maxFrameBytes) {
          this.#failed = new ReachError(
            'FRAME_TOO_LARGE',
            `frame length ${length} exceeds the limit of ${this.#maxFrameBytes} bytes`,
            { details: { size: length, limit: this.#maxFrameBytes } },
          );
          this.#chunks = [];
          this.#buffered = 0;
          out.push({ ok: false, error: this.#failed });
          break;
        }
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) break;
      const body = this.#take(this.#expected);
      this.#expected = -1;
      try {
        out.push({ ok: true, value: JSON.parse(decoder.decode(body)) });
      } catch {
        out.push({ ok: false, error: new ReachError('PARSE_ERROR', 'frame body is not valid JSON') });
      }
    }
    return out;
  }

  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let offset = 0;
    while (offset < n) {
      const head = this.#chunks[0]!;
      const need = n - offset;
      if (head.byteLength <= need) {
        out.set(head, offset);
        offset += head.byteLength;
        this.#chunks.shift();
      } else {
        out.set(head.subarray(0, need), offset);
        this.#chunks[0] = head.subarray(need);
        offset += need;
      }
    }
    this.#buffered -= n;
    return out;
  }
}
