/** Bytes of `s` once JSON-encoded: what an MCP client receives of it. */
const jsonBytes = (s: string): number => Buffer.byteLength(JSON.stringify(s));

/**
 * Cuts `text` to `budget` JSON-encoded bytes, keeping its head and its tail in about equal parts
 * around a marker naming how many characters were left out; unchanged when it fits. For outputs
 * nothing keeps whole (an SSH session's command output), so the marker names no way to page them.
 */
export function capText(text: string, budget: number): { text: string; cut: boolean } {
  if (jsonBytes(text) <= budget) return { text, cut: false };
  const marker = (omitted: number) =>
    `\n... [reach: ${omitted} of ${text.length} characters omitted here (result cap ${budget} bytes)] ...\n`;
  // Start from a byte-sized guess in characters, then shrink until escaping and UTF-8 fit too.
  let room = Math.max(0, Math.min(text.length, budget - jsonBytes(marker(text.length))));
  for (;;) {
    let head = Math.floor(room / 2);
    let tailStart = text.length - Math.floor(room / 2);
    // Never split a surrogate pair: a lone half would be replaced on the way out.
    if (head > 0 && /[\uD800-\uDBFF]/.test(text[head - 1] ?? '')) head -= 1;
    if (tailStart < text.length && /[\uDC00-\uDFFF]/.test(text[tailStart] ?? '')) tailStart += 1;
    const out = text.slice(0, head) + marker(tailStart - head) + text.slice(tailStart);
    const size = jsonBytes(out);
    if (size <= budget || room === 0) return { text: out, cut: true };
    room = Math.floor(room * (budget / size) * 0.95);
  }
}
