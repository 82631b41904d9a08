import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleOf } from './metrics-sampler.ts';

function metrics(rx: number, tx: number) {
  return {
    timestamp: '',
    uptime_seconds: 1,
    cpu: { usage_percent: 12.5, load_average: [0, 0, 0], core_count: 2 },
    memory: { total_gb: 1, used_gb: 0.5, available_gb: 0.5, cached_gb: 0, percent: 50 },
    disk: {
      '/boot': { total_gb: 1, used_gb: 0.9, percent: 90 },
      '/': { total_gb: 10, used_gb: 3, percent: 30 },
    },
    network: {
      lo: { bytes_sent: 1e9, bytes_recv: 1e9, errors_in: 0, errors_out: 0 },
      eth0: { bytes_sent: tx, bytes_recv: rx, errors_in: 0, errors_out: 0 },
    },
    process_count: 1,
  };
}

test('a sample: cpu, memory, the root disk, and network rates from the counters (loopback left out)', () => {
  const first = sampleOf(metrics(1000, 500), 10_000, undefined);
  assert.deepEqual(first.sample, {
    at_ms: 10_000,
    cpu_percent: 12.5,
    memory_percent: 50,
    disk_percent: 30,
    net_rx_bps: null,
    net_tx_bps: null,
  });
  const second = sampleOf(metrics(31_000, 2_000), 40_000, first.counters);
  assert.equal(second.sample.net_rx_bps, 1000, '30,000 bytes in 30 s');
  assert.equal(second.sample.net_tx_bps, 50);
  const reset = sampleOf(metrics(10, 10), 70_000, second.counters);
  assert.equal(reset.sample.net_rx_bps, null, 'a counter that went back gives no rate');
});
