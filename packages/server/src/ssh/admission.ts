import { isIPv4 } from 'node:net';

/**
 * Admission of new, unauthenticated SSH connections, after OpenSSH's `MaxStartups start:rate:full`
 * and `PerSourceMaxStartups`: below `start` every connection is let in; between `start` and `full`
 * each new one is dropped with a probability rising linearly from `rate`% to 100%; at `full` all
 * are; and one source address never holds more than `perSource` slots. With a hard cap alone, 128
 * silent sockets from one address locked every client out for the 30 s auth timeout.
 */
export interface AdmissionOptions {
  /** Unauthenticated connections below which none is dropped. */
  start: number;
  /** Drop probability at `start`, in percent. */
  rate: number;
  /** Unauthenticated connections at which every new one is dropped. */
  full: number;
  /** Unauthenticated connections one source address may hold at once. */
  perSource: number;
  /** Uniform [0, 1) (injected in tests). */
  random?: () => number;
}

export type AdmissionVerdict = 'admitted' | 'full' | 'early-drop' | 'per-source';

/**
 * The source a connection is counted against: its IPv4 address (an IPv4-mapped IPv6 address
 * counts as IPv4), or the /64 of an IPv6 address, which one host is usually handed whole.
 */
export function sourceOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress)?.[1];
  if (mapped !== undefined) return mapped;
  if (isIPv4(remoteAddress)) return remoteAddress;
  const groups = expandIPv6(remoteAddress);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : remoteAddress;
}

function expandIPv6(address: string): string[] | undefined {
  const [head = '', tail] = address.split('%')[0]?.split('::') ?? [];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(Math.max(0, fill)).fill('0'), ...right];
  return groups.length === 8 ? groups.map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')) : undefined;
}

/** Parses `start:rate:full` (OpenSSH's MaxStartups syntax; `full` alone means start = full). */
export function parseMaxStartups(text: string): { start: number; rate: number; full: number } | undefined {
  const parts = text.split(':').map((p) => Number(p));
  if (parts.some((n) => !Number.isInteger(n) || n < 0)) return undefined;
  if (parts.length === 1 && parts[0] !== undefined && parts[0] >= 1) {
    return { start: parts[0], rate: 100, full: parts[0] };
  }
  const [start, rate, full] = parts;
  if (parts.length !== 3 || start === undefined || rate === undefined || full === undefined) return undefined;
  if (start < 1 || start > full || rate > 100) return undefined;
  return { start, rate, full };
}

/** Counts unauthenticated connections, in total and per source, and decides on each new one. */
export class Admission {
  readonly #opts: AdmissionOptions;
  readonly #random: () => number;
  readonly #bySource = new Map<string, number>();
  #total = 0;

  constructor(opts: AdmissionOptions) {
    this.#opts = opts;
    this.#random = opts.random ?? Math.random;
  }

  /** Unauthenticated connections held now. */
  get pending(): number {
    return this.#total;
  }

  /**
   * Decides on a new connection from `source`; an admitted one holds a slot until `release`.
   * The per-source cap is checked first: a flooding address is refused without using up the
   * random drops that would otherwise hit other sources.
   */
  admit(source: string): AdmissionVerdict {
    const { start, rate, full, perSource } = this.#opts;
    const held = this.#bySource.get(source) ?? 0;
    if (held >= perSource) return 'per-source';
    if (this.#total >= full) return 'full';
    if (this.#total >= start) {
      const p = (rate + ((100 - rate) * (this.#total - start)) / Math.max(1, full - start)) / 100;
      if (this.#random() < p) return 'early-drop';
    }
    this.#bySource.set(source, held + 1);
    this.#total++;
    return 'admitted';
  }

  /** Gives back a slot `admit` handed out for `source`. Call once per admitted connection. */
  release(source: string): void {
    const held = this.#bySource.get(source) ?? 0;
    if (held <= 0) return;
    if (held === 1) this.#bySource.delete(source);
    else this.#bySource.set(source, held - 1);
    this.#total--;
  }
}
