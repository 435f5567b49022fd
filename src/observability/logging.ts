/**
 * The worker's logs: RR_LOG_FORMAT=text (the default, for a terminal: the SDK's own lines, unchanged)
 * or json (one object a line on stdout, for a log collector), RR_LOG_LEVEL (default INFO).
 *
 * Every line of the worker passes through here: the SDK's runtime logger (its own lines, the activity
 * context's `log`, the workflow `log` through the SDK's logger sink and, in json, the Rust core's lines
 * forwarded to it), the worker's start and stop lines, and in json Node's process warnings and a crash.
 * Each is scrubbed by the same redactor as activity results (activities/lib/secrets.ts), so a log
 * collector never receives a secret this worker holds.
 */
import type { ActivityInterceptorsFactory, LogEntry, LogExporterConfig, Logger, LogLevel } from '@temporalio/worker';
import { DefaultLogger } from '@temporalio/worker';
import buffer from 'node:buffer';
import { collectSecrets, redactor, type Redactor } from '../activities/lib/secrets';
import type { LoadedTargets } from '../config/load';
import { CODEC_KEYS_ENV } from '../encryption/keys';
import { jsonLine, textLine, type LineContext } from './log-line';

export const LOG_FORMAT_ENV = 'RR_LOG_FORMAT';
export const LOG_LEVEL_ENV = 'RR_LOG_LEVEL';
const FORMATS = ['text', 'json'] as const;
const LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
export type LogFormat = (typeof FORMATS)[number];

/** A log setting the worker cannot use: it stops before it connects anywhere. */
export class LoggingConfigError extends Error {}

export function logFormatOf(env: NodeJS.ProcessEnv): LogFormat {
  const v = env[LOG_FORMAT_ENV]?.trim().toLowerCase() || 'text';
  if ((FORMATS as readonly string[]).includes(v)) return v as LogFormat;
  throw new LoggingConfigError(
    `reset-runbook worker: ${LOG_FORMAT_ENV}=${JSON.stringify(env[LOG_FORMAT_ENV])} is not a log format: use text (the default) or json`,
  );
}

export function logLevelOf(env: NodeJS.ProcessEnv): LogLevel {
  const v = env[LOG_LEVEL_ENV]?.trim().toUpperCase() || 'INFO';
  if ((LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  throw new LoggingConfigError(
    `reset-runbook worker: ${LOG_LEVEL_ENV}=${JSON.stringify(env[LOG_LEVEL_ENV])} is not a log level: use one of ${LEVELS.join(', ')} (default INFO)`,
  );
}

export interface WorkerLogging {
  format: LogFormat;
  /** Runtime.install's `logger`. */
  logger: Logger;
  /** Runtime.install's `telemetryOptions.logging`: in json, the Rust core's lines go through `logger`. */
  coreLogging?: LogExporterConfig;
  /** Worker.create's `interceptors.activity`: the target and step on every line of an activity. */
  activityInterceptors: ActivityInterceptorsFactory[];
  /** Once the targets file is loaded: redact every secret it names, and name targets on workflow lines. */
  useTargets(targets: LoadedTargets): void;
  /** The worker's own lines (start, stop, a refused setting): console.log/console.error in text. */
  info(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

/**
 * Reads RR_LOG_FORMAT and RR_LOG_LEVEL (a LoggingConfigError when either is unknown) and builds the
 * worker's logging. A test passes its own `write` (json lines; stdout by default) and leaves the
 * process-wide settings (warning and crash handlers, how buffers print) alone with `processWide: false`.
 */
export function workerLogging(
  env: NodeJS.ProcessEnv = process.env,
  {
    write = (line: string): void => void process.stdout.write(`${line}\n`),
    processWide = true,
  }: { write?: (line: string) => void; processWide?: boolean } = {},
): WorkerLogging {
  const format = logFormatOf(env);
  const level = logLevelOf(env);
  // Until the targets file is read, the secrets every worker has: a refused file's message is scrubbed too.
  const ctx: LineContext = { redactor: workerRedactor(env, { file: '', targets: {} }), targets: [] };
  // As the SDK's default logger decides (supports-color): a colour terminal, or FORCE_COLOR set.
  const colors = process.stderr.isTTY
    ? process.stderr.hasColors()
    : !!env.FORCE_COLOR && !['0', 'false'].includes(env.FORCE_COLOR);
  const logFunction =
    format === 'json'
      ? (entry: LogEntry) => write(jsonLine(entry, ctx))
      : (entry: LogEntry) => process.stderr.write(`${textLine(entry, ctx.redactor, colors)}\n`);
  const logger = new DefaultLogger(level, logFunction);
  // The SDK colours webpack's summary only for a logger marked so, as its own default one is on a terminal.
  if (format === 'text') Object.assign(logger, { [Symbol.for('logger_has_colors')]: colors });
  // The worker's own lines skip the runtime's 100 ms buffer: an error line must be out before process.exit.
  const own = (lvl: LogLevel, message: string, meta?: Record<string, unknown>) => {
    if (format === 'json')
      return write(jsonLine({ level: lvl, message, meta, timestampNanos: BigInt(Date.now()) * 1_000_000n }, ctx));
    const text = ctx.redactor.text(message);
    if (lvl === 'ERROR') console.error(text);
    else console.log(text);
  };
  const logging: WorkerLogging = {
    format,
    logger,
    // Core's default filter (WARN for the SDK's crates, ERROR for the rest), forwarded instead of printed.
    ...(format === 'json' ? { coreLogging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } } : {}),
    activityInterceptors: [activityLogAttributes],
    useTargets(targets) {
      ctx.redactor = workerRedactor(env, targets);
      ctx.targets = Object.keys(targets.targets);
    },
    info: (message, meta) => own('INFO', message, meta),
    error: (message, meta) => own('ERROR', message, meta),
  };
  if (processWide) {
    // The SDK's DEBUG line of the worker's options shows the codec's key bytes through util.inspect: never print bytes.
    (buffer as { INSPECT_MAX_BYTES: number }).INSPECT_MAX_BYTES = 0;
    if (format === 'json') routeProcessOutput(own);
  }
  return logging;
}

/** Every secret this worker holds (the activities' secrets, activities/lib/secrets.ts, and the payload codec's key material) as one redactor. */
export function workerRedactor(env: NodeJS.ProcessEnv, targets: LoadedTargets): Redactor {
  const keys = (env[CODEC_KEYS_ENV] ?? '').split(',').map((e) => e.slice(e.indexOf(':') + 1).trim());
  return redactor([...collectSecrets(env, targets), ...keys]);
}

/**
 * Node prints its process warnings (a deprecation, the AWS SDK's notice about the Node version) and
 * an uncaught error's stack on stderr as plain text: in json they become lines like the others, so a
 * collector parses every line.
 */
function routeProcessOutput(own: (lvl: LogLevel, message: string, meta?: Record<string, unknown>) => void): void {
  // Removing Node's own listener is what stops its plain-text print (node --no-warnings does the same).
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) =>
    own('WARN', w.message, { warning: w.name, ...(w.code ? { code: w.code } : {}) }),
  );
  process.on('uncaughtException', (err) => {
    own('ERROR', `reset-runbook worker stopped: ${err?.message ?? err}`, { error: err });
    process.exit(1);
  });
}

/**
 * Adds the run's target (the activity's `target` argument) and step (from the contract's step list)
 * to the attributes the SDK puts on an activity's lines; the lines logged before the activity
 * function starts get the target from the workflow id instead (log-line.ts).
 */
const activityLogAttributes: ActivityInterceptorsFactory = () => {
  let target: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        const a = input.args[0] as { target?: unknown } | undefined;
        if (a && typeof a === 'object' && typeof a.target === 'string') target = a.target;
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (attrs, next) => next(target === undefined ? attrs : { ...attrs, target }),
    },
  };
};
