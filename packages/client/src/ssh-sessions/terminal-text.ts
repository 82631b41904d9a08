/**
 * Turns raw PTY output into plain text: escape sequences removed (CSI incl. SGR colours and
 * bracketed-paste toggles, OSC window titles, DCS, charset designators; ECMA-48 §5.4, §8.3.89) and
 * carriage returns / backspaces applied the way a terminal would overwrite a line.
 */

const ESC = '\u001b';
const BEL = '\u0007';
const C1_CSI = '\u009b';
// Alternatives, in order: OSC (ends in BEL or ST), DCS/PM/APC/SOS strings, CSI (incl. SGR and
// bracketed paste), charset designation, any other two- or three-byte escape.
const SEQUENCE = [
  `${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)`,
  `${ESC}[P^_X][^${ESC}]*${ESC}\\\\`,
  `${ESC}\\[[0-?]*[ -/]*[@-~]`,
  `${ESC}[()*+\\-./][ -~]`,
  // Other escapes; a final byte that opens CSI, OSC or a string is not an escape of its own.
  `${ESC}[ -/]*[0-OQ-WYZ\\\\${'`'}-~]`,
].join('|');
const ESCAPE = new RegExp(`${SEQUENCE}|${C1_CSI}[0-?]*[ -/]*[@-~]`, 'g');
const COMPLETE_AT_START = new RegExp(`^(?:${SEQUENCE})`);
/** Characters that need the line renderer: CR, BS, other C0 controls except TAB, DEL. */
const NEEDS_RENDER = new RegExp(
  `[${String.fromCharCode(0)}-${String.fromCharCode(8)}${String.fromCharCode(11)}-${String.fromCharCode(31)}${String.fromCharCode(127)}]`,
);

/** Longest escape sequence held back while waiting for its end; longer ones are let through. */
const MAX_PARTIAL_ESCAPE = 4096;

/** Removes escape sequences and applies `\r`, `\b` line overwrites; `\r\n` becomes `\n`. */
export function toPlainText(raw: string): string {
  const noEscapes = raw.replace(ESCAPE, '');
  const lines = noEscapes.split('\n');
  return lines.map(renderLine).join('\n');
}

function renderLine(line: string): string {
  if (!NEEDS_RENDER.test(line)) return line;
  const cells: string[] = [];
  let cursor = 0;
  for (const ch of line) {
    if (ch === '\r') cursor = 0;
    else if (ch === '\b') cursor = Math.max(0, cursor - 1);
    else if (ch === '\t' || ch >= ' ') {
      if (ch === '\u007f') continue;
      cells[cursor] = ch;
      cursor++;
    }
  }
  let out = '';
  for (let i = 0; i < cells.length; i++) out += cells[i] ?? ' ';
  return out;
}

/**
 * Splits `text` before a trailing escape sequence that has not ended yet, so a read that stops in
 * the middle of one does not leak half of it. Returns [ready, heldBack].
 */
export function splitPartialEscape(text: string): [string, string] {
  const at = text.lastIndexOf(ESC);
  if (at === -1 || text.length - at > MAX_PARTIAL_ESCAPE) return [text, ''];
  const tail = text.slice(at);
  if (COMPLETE_AT_START.test(tail)) return [text, ''];
  return [text.slice(0, at), tail];
}
