/**
 * OpenTelemetry traces, on when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and off otherwise (OTEL_TRACES_EXPORTER=none or
 * OTEL_SDK_DISABLED=true turn it off too). Spans leave over OTLP/HTTP (JSON), in batches, to a
 * collector; OTEL_EXPORTER_OTLP_HEADERS (an API key, say) is read by the exporter and never printed.
 *
 * The worker (worker-tracing.ts) and the CLI (src/cli/connection.ts) each build one of these; every
 * span passes through `scrub` first, so no attribute, status or event leaves with a secret in it.
 */
import { context, propagation, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  NoopSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { tracesUrl } from './traces-url';

export interface Tracing {
  /** False: every span is dropped (the workflows make theirs all the same, see src/workflow-bundle.ts). */
  enabled: boolean;
  /** Where spans go, for the start line: the collector's URL without credentials. */
  url?: string;
  tracer: Tracer;
  resource: Resource;
  /** Scrubs, then batches for the exporter (or drops, when off). The workflows' sink hands spans here too. */
  processor: SpanProcessor;
  /** Sends what is still batched; before the process exits. */
  shutdown(): Promise<void>;
}

/**
 * `serviceName`: OTEL_SERVICE_NAME wins. `scrub` is applied to every span before it is batched.
 * Registers the provider process-wide (context manager and W3C propagation) only when tracing is on.
 */
export function tracingFromEnv(
  env: NodeJS.ProcessEnv,
  serviceName: string,
  scrub: (span: ReadableSpan) => void = () => undefined,
): Tracing {
  const url = tracesUrl(env);
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || serviceName });
  const inner: SpanProcessor = url
    ? new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1000 })
    : new NoopSpanProcessor();
  const processor: SpanProcessor = {
    onStart: (span, ctx) => inner.onStart(span, ctx),
    onEnd: (span) => {
      scrub(span);
      inner.onEnd(span);
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
  };
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  if (url) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  const shown = url ? new URL(url) : undefined;
  if (shown) {
    shown.username = shown.password = '';
    shown.search = '';
  }
  return {
    enabled: !!url,
    ...(shown ? { url: shown.toString() } : {}),
    tracer: provider.getTracer('reset-runbook'),
    resource,
    processor,
    shutdown: () => provider.shutdown(),
  };
}
