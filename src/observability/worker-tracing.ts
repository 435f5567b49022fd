/**
 * The worker's part of tracing (tracing.ts): the sink that takes the workflows' spans out of the
 * sandbox, the SDK's activity interceptors (a span per activity attempt, child of the workflow's), and
 * the scrubbing every span goes through, with the same redactor as the logs.
 */
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { Redactor } from '../activities/lib/secrets';
import type { LoadedTargets } from '../config/load';
import { workerRedactor } from './logging';
import { tracingFromEnv, type Tracing } from './tracing';

export interface WorkerTracing extends Tracing {
  /** Worker.create's `sinks`: always, since the bundled workflows always make spans. */
  sinks: InjectedSinks<OpenTelemetrySinks>;
  /** Worker.create's `interceptors.activity`: none when tracing is off. */
  activityInterceptors: ActivityInterceptorsFactory[];
  /** Once the targets file is loaded: redact every secret it names. */
  useTargets(targets: LoadedTargets): void;
}

export function workerTracing(env: NodeJS.ProcessEnv = process.env): WorkerTracing {
  let redact = workerRedactor(env, { file: '', targets: {} });
  const tracing = tracingFromEnv(env, 'reset-runbook-worker', (span) => scrubSpan(span, redact));
  const { tracer } = tracing;
  return {
    ...tracing,
    sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
    activityInterceptors: tracing.enabled
      ? [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
            // Puts trace_id and span_id on the activity's log lines (RR_LOG_FORMAT=json shows them).
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ]
      : [],
    useTargets(targets) {
      redact = workerRedactor(env, targets);
    },
  };
}

type Mutable = { attributes: Record<string, unknown>; status: { code: number; message?: string } };

/**
 * Keeps only plain values, each string redacted. The SDK copies the whole WorkflowInfo onto a workflow's
 * spans: its memo, search attributes and last failure are objects, dropped here (with RR_CODEC_KEYS set
 * the memo is sealed on the server, and a trace must not carry it in clear).
 */
export function scrubSpan(span: ReadableSpan, r: Redactor): void {
  const s = span as unknown as Mutable;
  scrubAttributes(s.attributes, r);
  if (s.status?.message) s.status = { ...s.status, message: r.text(s.status.message) };
  for (const e of span.events) if (e.attributes) scrubAttributes(e.attributes as Record<string, unknown>, r);
}

function scrubAttributes(a: Record<string, unknown>, r: Redactor): void {
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'string') a[k] = r.text(v);
    else if (typeof v === 'number' || typeof v === 'boolean') continue;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'boolean')) continue;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) a[k] = v.map((x: string) => r.text(x));
    else delete a[k];
  }
}
