import { randomBytes } from 'node:crypto';
import { ReachError } from '@reach/protocol';
import type { CommandOutcome } from './shell-session.ts';
import { toPlainText } from './terminal-text.ts';

/** Longest marker line, so a marker split across chunks is still found. */
const MARKER_OVERLAP = 64;
/** Marker lines of a command that finished after its timeout: stripped from later reads. */
export const ORPHAN_MARKER = /\r?\n?[0-9a-f]{24}:(?:\d+|start)\r?\n/g;

/** The command running in a shell session: its output so far and the marker lines that frame it. */
export interface ActiveCommand {
  raw: string;
  truncated: boolean;
  searchFrom: number;
  /** Printed by the shell when the command starts running: after the echo and any PS2 prompts. */
  startMarker: RegExp;
  /** Where the command's own output begins in `raw`, once the start marker was seen. */
  startAt: number | undefined;
  /** Printed with `$?` when the command is done. */
  endMarker: RegExp;
  done(outcome: CommandOutcome | ReachError): void;
}

/** The command's own output so far, as plain text: nothing before its start marker. */
export function commandOutput(active: ActiveCommand, end = active.raw.length): string {
  if (active.startAt === undefined) return '';
  return toPlainText(active.raw.slice(active.startAt, end)).replace(/\n+$/, '');
}

/** SSH_COMMAND_TIMEOUT for session `sessionId`, with the output `active` had produced so far. */
export function commandTimeoutError(
  sessionId: string,
  timeoutMs: number,
  active?: ActiveCommand,
): ReachError {
  const partial = active === undefined ? '' : commandOutput(active);
  const truncated = active?.truncated ?? false;
  return new ReachError('SSH_COMMAND_TIMEOUT', `command did not finish within ${timeoutMs / 1000} s`, {
    details: { session_id: sessionId, timeout: timeoutMs / 1000, partial_output: partial, truncated },
    recoveryHint:
      'it was interrupted with Ctrl-C; use a longer timeout, or ssh_session_send plus ssh_session_read for long or interactive commands',
  });
}

/**
 * The text to write to the shell to run `command` between a start and an end marker line carrying
 * a fresh random nonce, with the patterns that find those lines in its output.
 */
export function frameCommand(command: string): { text: string; startMarker: RegExp; endMarker: RegExp } {
  // The nonce is split in two so the echoed command line never contains the joined markers.
  const a = randomBytes(6).toString('hex');
  const b = randomBytes(6).toString('hex');
  // A brace group keeps cd/export in this shell, tolerates trailing comments and `&`, and is
  // parsed whole before it runs, so the end marker is never read as the command's stdin. The
  // start marker is printed once parsing is over, so echo and continuation prompts (PS2) that a
  // shell with or without line editing prints come before it and are left out of the output.
  const text = `{ printf '%s%s:start\\n' ${a} ${b}; ${command}\n}; printf '\\n%s%s:%s\\n' ${a} ${b} "$?"\n`;
  return {
    text,
    startMarker: new RegExp(`${a}${b}:start\\r?\\n`, 'g'),
    endMarker: new RegExp(`${a}${b}:(\\d+)\\r?\\n`, 'g'),
  };
}

/**
 * Adds shell output `text` to `active` (keeping at most `maxChars`, flagging what is dropped) and
 * looks for its markers. Once the end marker arrives it calls `active.done` with the outcome and
 * returns what the shell printed after the marker; until then it returns ''.
 */
export function feedCommand(active: ActiveCommand, text: string, maxChars: number): string {
  active.raw += text;
  const over = active.raw.length - maxChars;
  if (over > 0) {
    active.raw = active.raw.slice(over);
    active.searchFrom = Math.max(0, active.searchFrom - over);
    if (active.startAt !== undefined) active.startAt = Math.max(0, active.startAt - over);
    active.truncated = true;
  }
  const from = Math.max(0, active.searchFrom - MARKER_OVERLAP);
  active.searchFrom = active.raw.length;
  if (active.startAt === undefined) {
    active.startMarker.lastIndex = from;
    const start = active.startMarker.exec(active.raw);
    if (start === null) return '';
    active.startAt = start.index + start[0].length;
  }
  active.endMarker.lastIndex = Math.max(from, active.startAt);
  const match = active.endMarker.exec(active.raw);
  if (match === null) return '';
  // The end marker's own leading newline is not the command's output.
  const end = active.raw.slice(0, match.index).endsWith('\r\n') ? match.index - 2 : match.index;
  const rest = active.raw.slice(match.index + match[0].length);
  active.done({
    output: commandOutput(active, Math.max(active.startAt, end)),
    exitCode: Number(match[1]),
    truncated: active.truncated,
  });
  return rest;
}
