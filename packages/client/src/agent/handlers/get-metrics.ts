import { GetMetricsParams } from '@reach/protocol';
import { collectMetrics, summarise } from '../../metrics/collect-metrics.ts';
import { defineHandler } from './define-handler.ts';

/** `get_metrics`: full metrics, or the four-figure summary. */
export function getMetricsHandler() {
  return defineHandler(GetMetricsParams, async ({ summary }, ctx) => {
    const full = await collectMetrics({ signal: ctx.signal });
    return summary ? summarise(full) : full;
  });
}
