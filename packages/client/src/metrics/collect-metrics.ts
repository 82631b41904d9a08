import { readdir, readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MetricsFull, MetricsSummary } from '@reach/protocol';
import type { z } from 'zod';

export type FullMetrics = z.infer<typeof MetricsFull>;
export type SummaryMetrics = z.infer<typeof MetricsSummary>;

export interface MetricsOptions {
  signal?: AbortSignal | undefined;
  /** Gap between the two CPU samples, in ms. */
  cpuSampleMs?: number;
  /** Root of the proc filesystem (a fixture directory in tests); null where there is none (Windows). */
  procRoot?: string | null | undefined;
  /** Filesystems reported besides those /proc/mounts lists (default `/`; Windows: the system drive). */
  diskRoots?: readonly string[] | undefined;
  /** Per-mount bound on statfs (a hung network mount must not stall the call), in ms. */
  statfsTimeoutMs?: number;
}

const GB = 1024 ** 3;
const round2 = (n: number) => Math.round(n * 100) / 100;
const gb = (bytes: number) => round2(bytes / GB);
const pct = (part: number, whole: number) => (whole > 0 ? round2((part / whole) * 100) : 0);

/** System metrics in the reference API's shape: /proc where it exists, `os` otherwise. */
export async function collectMetrics(o: MetricsOptions = {}): Promise<FullMetrics> {
  const proc = o.procRoot === undefined ? '/proc' : o.procRoot;
  const [cpuPercent, memory, disk, network, processCount] = await Promise.all([
    cpuUsagePercent(proc, o.cpuSampleMs ?? 150, o.signal),
    memoryInfo(proc),
    diskUsage(proc, o.statfsTimeoutMs ?? 2000, o.diskRoots ?? ['/']),
    networkCounters(proc),
    countProcesses(proc),
  ]);
  const load = os.loadavg();
  return {
    timestamp: new Date().toISOString(),
    uptime_seconds: Math.round(os.uptime()),
    cpu: {
      usage_percent: cpuPercent,
      load_average: [round2(load[0] ?? 0), round2(load[1] ?? 0), round2(load[2] ?? 0)],
      core_count: Math.max(1, os.cpus().length),
    },
    memory,
    disk,
    network,
    process_count: processCount,
  };
}

/** The four headline figures: CPU, memory, the root filesystem's use, and uptime. */
export function summarise(full: FullMetrics): SummaryMetrics {
  const root = full.disk['/'] ?? Object.values(full.disk)[0];
  return {
    cpu_percent: full.cpu.usage_percent,
    memory_percent: full.memory.percent,
    disk_percent: root?.percent ?? 0,
    uptime_hours: round2(full.uptime_seconds / 3600),
  };
}

/** A procfs root, or null where there is none: then every figure comes from `os` (or is 0). */
type Proc = string | null;

/** A file of a procfs that does not exist is a missing file: each caller falls back to `os`. */
function readProc(proc: Proc, rel: string): Promise<string> {
  if (proc === null) return Promise.reject(Object.assign(new Error('no procfs'), { code: 'ENOENT' }));
  return readFile(`${proc}/${rel}`, 'utf8');
}

interface CpuTimes {
  busy: number;
  total: number;
}

async function cpuTimes(proc: Proc): Promise<CpuTimes> {
  try {
    const line = (await readProc(proc, 'stat')).split('\n').find((l) => l.startsWith('cpu '));
    if (line) {
      // user nice system idle iowait irq softirq steal (guest time is already inside user/nice).
      const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
      const total = f.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
      const idle = (f[3] ?? 0) + (f[4] ?? 0);
      return { busy: total - idle, total };
    }
  } catch {
    // Not Linux: fall through to os.cpus().
  }
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    total += t;
    busy += t - c.times.idle;
  }
  return { busy, total };
}

async function cpuUsagePercent(proc: Proc, sampleMs: number, signal?: AbortSignal): Promise<number> {
  const a = await cpuTimes(proc);
  await sleep(sampleMs, undefined, { signal });
  const b = await cpuTimes(proc);
  return Math.min(100, Math.max(0, pct(b.busy - a.busy, b.total - a.total)));
}

async function memoryInfo(proc: Proc): Promise<FullMetrics['memory']> {
  let total = os.totalmem();
  let available = os.freemem();
  let cached = 0;
  try {
    const kb = new Map<string, number>();
    for (const line of (await readProc(proc, 'meminfo')).split('\n')) {
      const m = /^(\w+):\s+(\d+)/.exec(line);
      if (m?.[1] && m[2]) kb.set(m[1], Number(m[2]) * 1024);
    }
    total = kb.get('MemTotal') ?? total;
    available = kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Cached') ?? 0);
    cached = (kb.get('Cached') ?? 0) + (kb.get('SReclaimable') ?? 0);
  } catch {
    // Not Linux: os figures.
  }
  const used = Math.max(0, total - available);
  return {
    total_gb: gb(total),
    used_gb: gb(used),
    available_gb: gb(available),
    cached_gb: gb(cached),
    percent: pct(used, total),
  };
}

/** Filesystem types backed by a device (/proc/filesystems lines without "nodev"), as psutil does. */
async function physicalFsTypes(proc: Proc): Promise<Set<string>> {
  const types = new Set<string>(['zfs']);
  const text = await readProc(proc, 'filesystems').catch(() => '');
  for (const line of text.split('\n')) {
    if (line.trim() && !line.startsWith('nodev')) types.add(line.trim());
  }
  return types;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

async function diskUsage(
  proc: Proc,
  timeoutMs: number,
  roots: readonly string[],
): Promise<FullMetrics['disk']> {
  const mounts = new Set<string>(roots);
  const types = await physicalFsTypes(proc);
  const text = await readProc(proc, 'mounts').catch(() => '');
  for (const line of text.split('\n')) {
    const [device, mountPoint, fsType] = line.split(' ');
    if (!device || !mountPoint || !fsType || !types.has(fsType)) continue;
    mounts.add(unescapeMount(mountPoint));
  }
  const out: FullMetrics['disk'] = {};
  await Promise.all(
    [...mounts].map(async (mount) => {
      const s = await withTimeout(statfs(mount), timeoutMs).catch(() => null);
      if (!s || s.blocks <= 0) return;
      const total = s.blocks * s.bsize;
      const used = (s.blocks - s.bfree) * s.bsize;
      // Like df: percent of the space a user can have (used + available to non-root).
      out[mount] = { total_gb: gb(total), used_gb: gb(used), percent: pct(used, used + s.bavail * s.bsize) };
    }),
  );
  return out;
}

async function networkCounters(proc: Proc): Promise<FullMetrics['network']> {
  const out: FullMetrics['network'] = {};
  try {
    const lines = (await readProc(proc, 'net/dev')).split('\n').slice(2);
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const f = line
        .slice(colon + 1)
        .trim()
        .split(/\s+/)
        .map(Number);
      // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit likewise.
      out[name] = {
        bytes_recv: f[0] ?? 0,
        errors_in: f[2] ?? 0,
        bytes_sent: f[8] ?? 0,
        errors_out: f[10] ?? 0,
      };
    }
  } catch {
    for (const name of Object.keys(os.networkInterfaces())) {
      out[name] = { bytes_recv: 0, errors_in: 0, bytes_sent: 0, errors_out: 0 };
    }
  }
  return out;
}

async function countProcesses(proc: Proc): Promise<number> {
  if (proc === null) return 0;
  try {
    return (await readdir(proc)).filter((n) => /^\d+$/.test(n)).length;
  } catch {
    return 0;
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
