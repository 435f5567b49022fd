/**
 * The OpenTelemetry names the workflows put on their spans, shared with the tests that read the spans
 * and with docs/operators/observability.md. Attribute values are a target's name, a step's name and an
 * attempt number: never a URL, a message or a secret.
 */
export const TRACING = {
  /** The tracer the workflows' own spans come from (the SDK's interceptors make the run and activity spans). */
  tracer: 'reset-runbook',
  /** One span per attempt of a step: `step:backup`, `step:reset`, … */
  stepSpanPrefix: 'step:',
  attributes: {
    target: 'reset_runbook.target',
    kind: 'reset_runbook.kind',
    step: 'reset_runbook.step',
    attempt: 'reset_runbook.attempt',
  },
} as const;
