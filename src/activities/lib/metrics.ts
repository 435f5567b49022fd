/**
 * What the activities tell Prometheus, through the SDK's activity metric meter (a no-op unless the
 * worker exports metrics): recorded once, at the boundary, from a step's successful result, so a new
 * activity or an error path cannot count twice.
 */
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import { METRIC_HELP, METRICS, type BackupRecord, type MetricName } from '../../contract';
import type { ActivityDeps } from './target';

/** Records what the finished activity `name` did for `target`; `startedMs` is when the call began. */
export function recordActivityMetrics(
  deps: ActivityDeps,
  name: string,
  target: string | undefined,
  result: unknown,
  startedMs: number,
): void {
  if (!target || !result || typeof result !== 'object') return;
  const meter = meterOrUndefined();
  if (!meter) return;
  const tags = { target };
  const counter = (m: MetricName) => meter.createCounter(m, undefined, METRIC_HELP[m]);
  const histogram = (m: MetricName, type: 'int' | 'float') => meter.createHistogram(m, type, undefined, METRIC_HELP[m]);
  if (name === 'backupDatabase') {
    const b = result as Partial<BackupRecord>;
    const bytes = (b.files ?? []).reduce((a, f) => a + (f.bytes ?? 0), 0);
    histogram(METRICS.backupBytes, 'int').record(bytes, tags);
    histogram(METRICS.backupDuration, 'float').record(Math.max(0, Date.now() - startedMs) / 1000, tags);
  } else if (name === 'resetDatabase') {
    const rows = (result as { truncated?: { rows?: number } }).truncated?.rows;
    if (typeof rows === 'number') counter(METRICS.rowsTruncated).add(rows, tags);
  } else if (name === 'purgeStorage') {
    // `deleted` counts every attempt's removals (a resumed purge carries the earlier ones): counted once, here.
    const deleted = (result as { deleted?: number }).deleted ?? 0;
    counter(METRICS.objectsPurged).add(deleted, tags);
    const quarantined = deps.targets.targets[target]?.storage?.quarantine ? deleted : 0;
    counter(METRICS.objectsQuarantined).add(quarantined, tags);
  }
}

/** Outside an activity (a unit test calling the function directly) there is nothing to record to. */
function meterOrUndefined(): MetricMeter | undefined {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined;
  }
}
