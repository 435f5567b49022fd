/**
 * The worker: loads and validates the targets file (secrets stay in this process's environment),
 * builds the activities, and polls the runbook's task queue.
 *
 *   RESET_RUNBOOK_TARGETS=targets.json DATABASE_URL=… node dist/src/worker.js
 *
 * Temporal connection: the standard settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS_*, TEMPORAL_PROFILE and its TOML file), resolved as the CLI resolves them
 * (src/temporal-connection.ts). RR_METRICS_ADDRESS=host:port serves Prometheus metrics (src/observability/metrics.ts).
 */
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from './activities';
import { realDependencies } from './activities/lib/deps';
import { ConfigError, loadTargetsFromEnv } from './config/load';
import { TASK_QUEUE } from './contract';
import { dataConverterFromEnv } from './encryption/data-converter';
import { CODEC_KEYS_ENV, EncryptionConfigError } from './encryption/keys';
import { LoggingConfigError, workerLogging, type WorkerLogging } from './observability/logging';
import { MetricsConfigError, metricsTelemetryOptions } from './observability/metrics';
import { TracingConfigError } from './observability/traces-url';
import { workerTracing, type WorkerTracing } from './observability/worker-tracing';
import {
  lineSourceMaps,
  prebuiltWorkflowBundle,
  WORKFLOW_INTERCEPTOR_MODULES,
  WorkflowBundleError,
} from './workflow-bundle';
import { resolveTemporalSettings, temporalUnreachableMessage, TemporalSettingsError } from './temporal-connection';

/** Temporal did not answer at start: the message names the address and the variable that sets it. */
export class TemporalUnreachableError extends Error {}

export async function createWorker(
  env: NodeJS.ProcessEnv = process.env,
  logging?: WorkerLogging,
  tracing: WorkerTracing = workerTracing(env),
) {
  const targets = loadTargetsFromEnv(env);
  logging?.useTargets(targets);
  tracing.useTargets(targets);
  // RR_CODEC_KEYS: payloads and failure messages sealed with AES-256-GCM before they reach the server.
  const dataConverter = dataConverterFromEnv(env);
  const temporal = resolveTemporalSettings(env);
  // A prebuilt bundle (RR_WORKFLOW_BUNDLE, a file or the image's folder of both variants) starts a
  // worker in a second, without webpack; unset, the worker bundles src/workflows itself.
  const bundle = prebuiltWorkflowBundle(env, !!dataConverter);
  // Connect only once every setting is known good: a refused bundle leaves no connection open.
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({
      address: temporal.address,
      ...(temporal.tls !== undefined ? { tls: temporal.tls } : {}),
      ...(temporal.apiKey ? { apiKey: temporal.apiKey } : {}),
      ...(temporal.metadata ? { metadata: temporal.metadata } : {}),
    });
  } catch (err) {
    // A newcomer without a server running should read where the worker looked, not a Rust dump.
    throw new TemporalUnreachableError(temporalUnreachableMessage(temporal, err));
  }
  const worker = await Worker.create({
    connection,
    namespace: temporal.namespace,
    // One queue per deployment by default; RR_TASK_QUEUE separates environments (and tests) on one server.
    taskQueue: env.RR_TASK_QUEUE ?? TASK_QUEUE,
    ...(bundle
      ? { workflowBundle: { codePath: bundle } }
      : { workflowsPath: require.resolve('./workflows'), bundlerOptions: { webpackConfigHook: lineSourceMaps } }),
    // The real PostgreSQL, S3, child processes and clock; unit tests pass fakes (test/unit/activities).
    activities: createActivities({ targets, env, ...realDependencies(env) }),
    ...(dataConverter ? { dataConverter } : {}),
    interceptors: {
      ...(bundle ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }),
      activity: [...(logging?.activityInterceptors ?? []), ...tracing.activityInterceptors],
    },
    // The workflows' spans leave the sandbox here (dropped when tracing is off).
    sinks: tracing.sinks,
    // On SIGTERM (systemd stop, a deploy) the step in flight may finish: 90 s, inside the unit's TimeoutStopSec=120.
    shutdownGraceTime: '90s',
    // After a worker dies, its runs' next workflow task waits this long on the dead worker's sticky
    // queue before any other worker may take it (10 s by default): a killed worker's runs move on
    // within the heartbeat timeout plus about 1 s instead of plus 10 s (measured: npm run faults).
    stickyQueueScheduleToStartTimeout: '1s',
  });
  return { worker, connection, targets, temporal, bundle };
}

async function main(logging: WorkerLogging) {
  let made;
  let tracing: WorkerTracing | undefined;
  try {
    // Once per process, before the first connection: the runtime's logger (RR_LOG_FORMAT, RR_LOG_LEVEL) and
    // telemetry (the core's logs; metrics at RR_METRICS_ADDRESS) are fixed from then on.
    Runtime.install({
      logger: logging.logger,
      telemetryOptions: {
        ...(logging.coreLogging ? { logging: logging.coreLogging } : {}),
        ...metricsTelemetryOptions(),
      },
    });
    tracing = workerTracing(process.env);
    made = await createWorker(process.env, logging, tracing);
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof MetricsConfigError ||
      err instanceof TracingConfigError ||
      err instanceof EncryptionConfigError ||
      err instanceof TemporalSettingsError ||
      err instanceof WorkflowBundleError
    ) {
      logging.error(err.message);
      process.exit(2);
    }
    if (err instanceof TemporalUnreachableError) {
      logging.error(`reset-runbook worker: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const { worker, connection, targets, temporal, bundle } = made;
  const sealed = process.env[CODEC_KEYS_ENV]?.trim()
    ? `payloads encrypted (key ${process.env[CODEC_KEYS_ENV]!.trim().split(':')[0]})`
    : 'payloads not encrypted';
  logging.info(
    `reset-runbook worker: task queue "${process.env.RR_TASK_QUEUE ?? TASK_QUEUE}", targets: ${Object.keys(targets.targets).join(', ')} (from ${targets.file}), ${sealed}, Temporal ${temporal.address} namespace "${temporal.namespace}" (${temporal.describe}${temporal.profile ? `, ${temporal.profile}` : ''}), workflows ${bundle ? `from the prebuilt bundle ${bundle}` : 'bundled at start'}, traces ${tracing?.url ? `to ${tracing.url}` : 'off'}`,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
    // The spans of the last steps are still batched: send them before the process goes.
    await tracing?.shutdown().catch(() => undefined);
  }
}

if (require.main === module) {
  let logging: WorkerLogging;
  try {
    logging = workerLogging(process.env);
  } catch (err) {
    // An unknown format or level: said in plain text (there is no format to use), before anything connects.
    if (!(err instanceof LoggingConfigError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
  main(logging).catch((err) => {
    logging.error(`reset-runbook worker stopped: ${err?.message ?? err}`, { error: err });
    process.exit(1);
  });
}
