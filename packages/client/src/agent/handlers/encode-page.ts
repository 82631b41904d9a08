/** One page of bytes as a tool returns it: UTF-8 text when it is text, else base64. */
export interface EncodedPage {
  content: string;
  /** Bytes of the input `content` carries (a prefix: the rest starts the next page). */
  length: number;
  binary?: true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes of `s` once JSON-encoded (escapes and quotes included): what a client actually receives. */
export const jsonBytes = (s: string): number => Buffer.byteLength(JSON.stringify(s));

/**
 * Where a UTF-8 character cut by the end of `bytes` starts (bytes.length when none is cut), so
 * the page ends on a whole character and the next one starts where this one stopped.
 */
export function wholeCharEnd(bytes: Buffer): number {
  const end = bytes.length;
  let lead = end - 1;
  // A character is at most 4 bytes: look back over at most 3 continuation bytes (10xxxxxx).
  while (lead > 0 && end - lead < 4 && ((bytes[lead] ?? 0) & 0xc0) === 0x80) lead -= 1;
  const b = bytes[lead] ?? 0;
  const need = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return lead + need > end ? lead : end;
}

/**
 * Encodes a page of at most `maxJsonBytes` JSON-encoded bytes. Valid UTF-8 goes as text (a
 * character cut by the page end is left for the next page, unless `atEnd`); anything else, or
 * text that JSON escaping would blow past the cap (control bytes become \u00XX), as base64 of
 * as many bytes as fit. The page is never empty when `bytes` is not, so paging always advances.
 */
export function encodePage(bytes: Buffer, maxJsonBytes: number, atEnd: boolean): EncodedPage {
  let end = atEnd ? bytes.length : wholeCharEnd(bytes);
  while (end > 0 || bytes.length === 0) {
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(0, end));
    } catch {
      break; // Not UTF-8: base64 below.
    }
    const size = jsonBytes(text);
    if (size <= maxJsonBytes) return { content: text, length: end };
    // Escaping that costs more than base64 would (4/3): base64. Else a shorter page of text.
    if (size > end * 1.5) break;
    end = wholeCharEnd(bytes.subarray(0, Math.floor((end * maxJsonBytes) / size)));
  }
  const n = Math.min(bytes.length, Math.max(3, Math.floor((maxJsonBytes - 2) / 4) * 3));
  return { content: bytes.subarray(0, n).toString('base64'), length: n, binary: true };
}
