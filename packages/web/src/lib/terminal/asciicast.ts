// asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/) as the server records it: a JSON
// header line, then one `[time, code, data]` array per line. Pure functions, run by node in tests.

export interface CastHeader {
  width: number;
  height: number;
  /** Unix seconds the session started. */
  timestamp: number | null;
  /** Who opened the terminal (the server's extra header key). */
  caller: string | null;
}

/** `o`: output text; `r`: a resize to `COLSxROWS`. Other codes (`i`, `m`) are kept and ignored. */
export interface CastEvent {
  t: number;
  code: string;
  data: string;
}

export interface Cast {
  header: CastHeader;
  events: CastEvent[];
  /** Lines that were not an event (a file cut short while the server died ends in one). */
  skipped: number;
  /** Seconds from the start to the last event. */
  duration: number;
}

export class CastError extends Error {}

function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 10_000 ? v : null;
}

/** Parses a whole recording; a bad header is a CastError, a bad event line is skipped and counted. */
export function parseCast(text: string): Cast {
  const lines = text.split('\n');
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    throw new CastError('not an asciicast file: the first line is not JSON');
  }
  const h = header as Record<string, unknown> | null;
  if (typeof h !== 'object' || h === null || h.version !== 2)
    throw new CastError('not an asciicast v2 file (header version is not 2)');
  const width = positiveInt(h.width);
  const height = positiveInt(h.height);
  if (width === null || height === null)
    throw new CastError('asciicast header has no valid width and height');
  const events: CastEvent[] = [];
  let skipped = 0;
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (
      !Array.isArray(ev) ||
      typeof ev[0] !== 'number' ||
      !Number.isFinite(ev[0]) ||
      typeof ev[1] !== 'string' ||
      typeof ev[2] !== 'string'
    ) {
      skipped++;
      continue;
    }
    // Times never go backwards in a file we wrote; clamp anything else so playback stays ordered.
    const t = Math.max(last, ev[0]);
    last = t;
    events.push({ t, code: ev[1], data: ev[2] });
  }
  return {
    header: {
      width,
      height,
      timestamp: typeof h.timestamp === 'number' ? h.timestamp : null,
      caller: typeof h.reach_caller === 'string' ? h.reach_caller : null,
    },
    events,
    skipped,
    duration: last,
  };
}

/**
 * Playback time (seconds) of each event: the recorded gaps with every pause longer than
 * `idleLimit` cut to it, as asciinema's `idle_time_limit` does, so a terminal left open for ten
 * minutes replays in seconds. `idleLimit` ≤ 0 keeps the recorded timing.
 */
export function playbackTimes(events: readonly CastEvent[], idleLimit: number): number[] {
  const out: number[] = [];
  let prev = 0;
  let at = 0;
  for (const e of events) {
    const gap = e.t - prev;
    at += idleLimit > 0 ? Math.min(gap, idleLimit) : gap;
    prev = e.t;
    out.push(at);
  }
  return out;
}

/** `"80x24"` → {cols, rows}; anything else null. */
export function parseSize(data: string): { cols: number; rows: number } | null {
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(data);
  if (!m) return null;
  const cols = Number(m[1]);
  const rows = Number(m[2]);
  return cols > 0 && rows > 0 ? { cols, rows } : null;
}

/** How many events are due by playback time `at`: the index of the first one after it. */
export function eventAt(times: readonly number[], at: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] ?? 0) <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
