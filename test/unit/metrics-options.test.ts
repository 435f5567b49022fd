/**
 * RR_METRICS_ADDRESS: the `telemetryOptions` part the worker gives Runtime.install (src/observability/metrics.ts).
 */
import { METRICS } from '../../src/contract';
import { MetricsConfigError, metricsTelemetryOptions } from '../../src/observability/metrics';

test('unset or blank: no metrics part, nothing listens', () => {
  expect(metricsTelemetryOptions({})).toEqual({});
  expect(metricsTelemetryOptions({ RR_METRICS_ADDRESS: '  ' })).toEqual({});
});

test('host:port: a Prometheus endpoint there, counters with _total, seconds, and buckets that fit runs and backups', () => {
  for (const address of ['127.0.0.1:9464', '0.0.0.0:9464', 'localhost:9464', '[::1]:9464']) {
    const o = metricsTelemetryOptions({ RR_METRICS_ADDRESS: address });
    expect(o.metrics).toMatchObject({
      prometheus: { bindAddress: address, countersTotalSuffix: true, useSecondsForDurations: true },
    });
    const buckets = (o.metrics as { prometheus: { histogramBucketOverrides: Record<string, number[]> } }).prometheus
      .histogramBucketOverrides;
    expect(buckets[METRICS.stepDuration]).toContain(86400);
    expect(buckets[METRICS.backupBytes]).toContain(1e9);
  }
});

test('anything else stops the worker at start, saying what to give', () => {
  for (const address of ['9464', 'http://127.0.0.1:9464', '127.0.0.1:', '127.0.0.1:99999', '127.0.0.1:0'])
    expect(() => metricsTelemetryOptions({ RR_METRICS_ADDRESS: address })).toThrow(
      new MetricsConfigError(
        `RR_METRICS_ADDRESS="${address}" is not an address to serve metrics on: give host:port, e.g. 127.0.0.1:9464 (0.0.0.0:9464 for every interface)`,
      ),
    );
});
