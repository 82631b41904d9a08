import { GetMetricsParams } from '@reach/protocol';
import { collectMetrics, summarise } from '../../metrics/collect-metrics.ts';
import type { Platform } from '../../platform/platform.ts';
import { defineHandler } from './define-handler.ts';

/** `get_metrics`: full metrics, or the four-figure summary; from `os` where there is no /proc. */
export function getMetricsHandler(
  platform?: Platform,
  env: Readonly<Record<string, string | undefined>> = {},
) {
  const where = platform ? { procRoot: platform.procRoot, diskRoots: platform.diskRoots(env) } : {};
  return defineHandler(GetMetricsParams, async ({ summary }, ctx) => {
    const full = await collectMetrics({ signal: ctx.signal, ...where });
    return summary ? summarise(full) : full;
  });
}
