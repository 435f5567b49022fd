/**
 * Traces' settings (the standard OTEL_* variables) and the scrubbing every span goes through before it
 * leaves the worker (src/observability/traces-url.ts, worker-tracing.ts).
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { redactor } from '../../src/activities/lib/secrets';
import { tracesUrl, TracingConfigError } from '../../src/observability/traces-url';
import { scrubSpan, workerTracing } from '../../src/observability/worker-tracing';

test('off unless an endpoint is set; the general endpoint gets /v1/traces, the traces one is used whole', () => {
  expect(tracesUrl({})).toBeUndefined();
  expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBeUndefined();
  expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe('http://collector:4318/v1/traces');
  expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c.example/otlp/' })).toBe(
    'https://c.example/otlp/v1/traces',
  );
  expect(
    tracesUrl({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom/path',
    }),
  ).toBe('http://c:4318/custom/path');
  for (const off of [{ OTEL_SDK_DISABLED: 'true' }, { OTEL_TRACES_EXPORTER: 'none' }])
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...off })).toBeUndefined();
});

test('an endpoint that is not an http(s) URL is refused, naming the variable', () => {
  for (const bad of ['collector:4318', 'grpc://c:4317', 'not a url'])
    expect(() => tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: bad })).toThrow(
      new TracingConfigError(
        `OTEL_EXPORTER_OTLP_ENDPOINT="${bad}" is not an OTLP/HTTP endpoint: give the collector's http(s) URL, e.g. http://127.0.0.1:4318 (unset it to turn traces off)`,
      ),
    );
});

test('a worker with traces off drops spans and adds no activity interceptor; on, it says where (without credentials)', async () => {
  const off = workerTracing({});
  expect(off).toMatchObject({ enabled: false, activityInterceptors: [] });
  expect(off.url).toBeUndefined();
  expect(typeof off.sinks.exporter.export.fn).toBe('function');
  const on = workerTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://user:pw-123456@127.0.0.1:1/?token=t-123456' });
  expect(on).toMatchObject({ enabled: true, url: 'http://127.0.0.1:1/v1/traces' });
  expect(on.activityInterceptors).toHaveLength(1);
  await on.shutdown();
});

test('scrubbing: strings redacted, objects (memo, search attributes, last failure) dropped, status and events too', () => {
  const secret = 'postgres://app:s3cr3t-pass@db/prod';
  const span = {
    attributes: {
      'reset_runbook.target': 'prod',
      attempt: 2,
      ok: true,
      note: `connecting to ${secret}`,
      memo: { reason: secret },
      searchAttributes: { ResetTarget: ['prod'] },
      startTime: new Date(0),
      tags: ['a', secret],
      counts: [1, 2],
    },
    status: { code: 2, message: `failed: ${secret}` },
    events: [{ name: 'exception', attributes: { 'exception.message': `boom ${secret}`, detail: { secret } } }],
  } as unknown as ReadableSpan;
  scrubSpan(span, redactor([secret, 's3cr3t-pass']));
  expect(span.attributes).toEqual({
    'reset_runbook.target': 'prod',
    attempt: 2,
    ok: true,
    note: 'connecting to [redacted]',
    tags: ['a', '[redacted]'],
    counts: [1, 2],
  });
  expect(span.status).toEqual({ code: 2, message: 'failed: [redacted]' });
  expect(span.events[0]!.attributes).toEqual({ 'exception.message': 'boom [redacted]' });
});
