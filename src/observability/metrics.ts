/**
 * The worker's Prometheus endpoint: when RR_METRICS_ADDRESS is set (e.g. 127.0.0.1:9464), the SDK's
 * runtime serves its own metrics and ours (recorded through its metric meter) on http://<address>/metrics.
 * docs/operators/observability.md lists what it serves.
 */
import type { TelemetryOptions } from '@temporalio/worker';
import { METRICS } from '../contract';

export const METRICS_ADDRESS_ENV = 'RR_METRICS_ADDRESS';

/** RR_METRICS_ADDRESS is not a host:port the exporter can bind. */
export class MetricsConfigError extends Error {}

const SECONDS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];
const BYTES = [1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11];

/**
 * The `telemetryOptions` part of Runtime.install for the metrics, or {} when RR_METRICS_ADDRESS is unset; the worker
 * merges it with the logging part.
 */
export function metricsTelemetryOptions(env: NodeJS.ProcessEnv = process.env): TelemetryOptions {
  const address = env[METRICS_ADDRESS_ENV]?.trim();
  if (!address) return {};
  // host:port or [v6]:port; a bare port would make the exporter fail later with a less helpful message.
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new MetricsConfigError(
      `${METRICS_ADDRESS_ENV}="${address}" is not an address to serve metrics on: give host:port, e.g. 127.0.0.1:9464 (0.0.0.0:9464 for every interface)`,
    );
  return {
    metrics: {
      prometheus: {
        bindAddress: address,
        // Prometheus' conventions: counters end in _total, durations are in seconds (the SDK's too).
        countersTotalSuffix: true,
        useSecondsForDurations: true,
        // Runs last minutes to hours, backups are megabytes to gigabytes: the default buckets do not fit.
        histogramBucketOverrides: {
          [METRICS.stepDuration]: SECONDS,
          [METRICS.workersDowntime]: SECONDS,
          [METRICS.backupDuration]: SECONDS,
          [METRICS.backupBytes]: BYTES,
        },
      },
    },
  };
}
