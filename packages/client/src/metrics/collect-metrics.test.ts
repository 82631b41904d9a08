import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MetricsFull, MetricsSummary } from '@reach/protocol';
import { collectMetrics, summarise } from './collect-metrics.ts';

describe('collectMetrics', () => {
  let fake = '';
  before(async () => {
    fake = await mkdtemp(join(tmpdir(), 'reach-proc-'));
    await mkdir(join(fake, 'net'));
    for (const pid of ['1', '42', '1000']) await mkdir(join(fake, pid));
    await mkdir(join(fake, 'self'));
    await writeFile(join(fake, 'stat'), 'cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n');
    await writeFile(
      join(fake, 'meminfo'),
      'MemTotal:       4194304 kB\nMemFree:         1048576 kB\nMemAvailable:    2097152 kB\nCached:           524288 kB\nSReclaimable:     524288 kB\n',
    );
    await writeFile(
      join(fake, 'net', 'dev'),
      'Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n' +
        '    lo:  1000 10 1 0 0 0 0 0   2000 20 2 0 0 0 0 0\n  eth0: 5 1 0 0 0 0 0 0 7 1 3 0 0 0 0 0\n',
    );
    await writeFile(join(fake, 'filesystems'), 'nodev\tproc\nnodev\ttmpfs\n\text4\n');
    await writeFile(
      join(fake, 'mounts'),
      'proc /proc proc rw 0 0\n/dev/x / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n',
    );
  });
  after(async () => {
    await rm(fake, { recursive: true, force: true });
  });

  test('the real machine: full and summary shapes validate against the schemas', async () => {
    const full = await collectMetrics({ cpuSampleMs: 100 });
    assert.deepEqual(MetricsFull.parse(full), full);
    assert.ok(full.cpu.usage_percent >= 0 && full.cpu.usage_percent <= 100);
    assert.ok(full.memory.total_gb > 0);
    assert.ok(full.disk['/'], 'root filesystem reported');
    assert.ok(full.process_count > 0);
    assert.ok(Object.keys(full.network).length > 0);
    const summary = summarise(full);
    assert.deepEqual(MetricsSummary.parse(summary), summary);
    assert.equal(summary.disk_percent, full.disk['/']?.percent);
  });

  test('parses /proc: memory, network counters, processes, real filesystems only', async () => {
    const m = await collectMetrics({ procRoot: fake, cpuSampleMs: 1 });
    assert.deepEqual(m.memory, { total_gb: 4, used_gb: 2, available_gb: 2, cached_gb: 1, percent: 50 });
    assert.deepEqual(m.network.lo, { bytes_recv: 1000, errors_in: 1, bytes_sent: 2000, errors_out: 2 });
    assert.deepEqual(m.network.eth0, { bytes_recv: 5, errors_in: 0, bytes_sent: 7, errors_out: 3 });
    assert.equal(m.process_count, 3);
    assert.deepEqual(Object.keys(m.disk), ['/']);
    // Same /proc/stat twice: no CPU time passed, so 0 %.
    assert.equal(m.cpu.usage_percent, 0);
  });

  test('an aborted signal stops the CPU sample', async () => {
    await assert.rejects(collectMetrics({ signal: AbortSignal.abort(), cpuSampleMs: 10_000 }), {
      name: 'AbortError',
    });
  });
});
