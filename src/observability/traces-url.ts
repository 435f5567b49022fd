/**
 * Whether traces are on, read from the standard OpenTelemetry variables without loading the SDK: the
 * CLI checks it on every command and loads tracing.ts only when it is.
 */
export const OTLP_ENDPOINT_ENV = 'OTEL_EXPORTER_OTLP_ENDPOINT';
export const OTLP_TRACES_ENDPOINT_ENV = 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT';

/** The endpoint is not an http(s) URL: said before anything connects. */
export class TracingConfigError extends Error {}

/** The traces URL the settings give, or undefined when tracing is off. */
export function tracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const traces = env[OTLP_TRACES_ENDPOINT_ENV]?.trim();
  const base = env[OTLP_ENDPOINT_ENV]?.trim();
  const [name, given] = traces ? [OTLP_TRACES_ENDPOINT_ENV, traces] : [OTLP_ENDPOINT_ENV, base];
  if (!given) return undefined;
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TracingConfigError(
      `${name}="${given}" is not an OTLP/HTTP endpoint: give the collector's http(s) URL, e.g. http://127.0.0.1:4318 (unset it to turn traces off)`,
    );
  // The standard: the signal's own variable is the whole URL; the general one gets /v1/traces appended.
  if (!traces) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}
