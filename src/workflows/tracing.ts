/**
 * The run's own spans, inside the workflow sandbox. The SDK's OpenTelemetry interceptors (bundled with
 * every workflow, src/workflow-bundle.ts) make the run's span and one per activity; here each attempt
 * of a step gets a span of its own, parent of its activity's, so a trace reads like the runbook.
 *
 * Spans cost no command and no history event, so they change nothing on replay; they leave the
 * sandbox through the interceptors' sink, which is not called while replaying (no span twice). With
 * tracing off the worker's sink drops them.
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { TRACING, type StepName } from '../contract';

const A = TRACING.attributes;

/** Names the run's own span (RunWorkflow:<type>) after the target. */
export function traceRun(target: string, kind: 'reset' | 'restore' | 'fleet'): void {
  trace.getActiveSpan()?.setAttributes({ [A.target]: target, [A.kind]: kind });
}

/**
 * Runs one attempt of a step inside its span. A failure marks the span with its type only: a step's
 * messages may quote the app's data, and traces often leave for a vendor that RR_CODEC_KEYS does not cover.
 */
export function inStepSpan<T>(target: string, step: StepName, attempt: number, run: () => Promise<T>): Promise<T> {
  const tracer = trace.getTracer(TRACING.tracer);
  const attributes = { [A.target]: target, [A.step]: step, [A.attempt]: attempt };
  return tracer.startActiveSpan(`${TRACING.stepSpanPrefix}${step}`, { attributes }, async (span) => {
    try {
      return await run();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: failureType(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

function failureType(err: unknown): string {
  let e = err as { cause?: unknown; type?: unknown; name?: unknown } | undefined;
  // ActivityFailure → its cause (ApplicationFailure with a type, or a TimeoutFailure …).
  while (e?.cause) e = e.cause as typeof e;
  return typeof e?.type === 'string' && e.type ? e.type : typeof e?.name === 'string' ? e.name : 'Error';
}
