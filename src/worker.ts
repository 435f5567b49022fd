/**
 * The worker: loads and validates the targets file (secrets stay in this process's environment),
 * builds the activities, and polls the runbook's task queue.
 *
 *   RESET_RUNBOOK_TARGETS=targets.json DATABASE_URL=… node dist/src/worker.js
 *
 * Temporal connection from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (and TEMPORAL_TLS_* for mTLS).
 */
import * as fs from 'node:fs';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from './activities';
import { ConfigError, loadTargetsFromEnv } from './config/load';
import { TASK_QUEUE } from './workflows/definitions';
import { dataConverterFromEnv } from './encryption/data-converter';
import { ENCODED_FAILURES_MARK } from './encryption/failure-converter';
import { CODEC_KEYS_ENV, EncryptionConfigError } from './encryption/keys';

export async function createWorker(env: NodeJS.ProcessEnv = process.env) {
  const targets = loadTargetsFromEnv(env);
  // RR_CODEC_KEYS: payloads and failure messages sealed with AES-256-GCM before they reach the server.
  const dataConverter = dataConverterFromEnv(env);
  const tls =
    env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY
      ? {
          clientCertPair: { crt: fs.readFileSync(env.TEMPORAL_TLS_CERT), key: fs.readFileSync(env.TEMPORAL_TLS_KEY) },
          serverRootCACertificate: env.TEMPORAL_TLS_CA ? fs.readFileSync(env.TEMPORAL_TLS_CA) : undefined,
        }
      : undefined;
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS ?? 'localhost:7233', tls });
  // A prebuilt bundle (RR_WORKFLOW_BUNDLE) starts a worker in a second instead of bundling anew.
  const bundle = env.RR_WORKFLOW_BUNDLE;
  // The workflow's own failures are converted inside the bundle: a bundle built without the encoding
  // failure converter would write failure messages in clear, so refuse it rather than leak.
  if (dataConverter && bundle && !fs.readFileSync(bundle, 'utf8').includes(ENCODED_FAILURES_MARK)) {
    throw new EncryptionConfigError(
      `${CODEC_KEYS_ENV} is set but the workflow bundle ${bundle} was built without the encoding failure converter: ` +
        `rebuild it with ${CODEC_KEYS_ENV} set (scripts/build-workflow-bundle.ts), or unset RR_WORKFLOW_BUNDLE`,
    );
  }
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    // One queue per deployment by default; RR_TASK_QUEUE separates environments (and tests) on one server.
    taskQueue: env.RR_TASK_QUEUE ?? TASK_QUEUE,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities({ targets, env }),
    ...(dataConverter ? { dataConverter } : {}),
    // On SIGTERM (systemd stop, a deploy) the step in flight may finish: 90 s, inside the unit's TimeoutStopSec=120.
    shutdownGraceTime: '90s',
    // After a worker dies, its runs' next workflow task waits this long on the dead worker's sticky
    // queue before any other worker may take it (10 s by default): a killed worker's runs move on
    // within the heartbeat timeout plus about 1 s instead of plus 10 s (measured: npm run faults).
    stickyQueueScheduleToStartTimeout: '1s',
  });
  return { worker, connection, targets };
}

async function main() {
  let made;
  try {
    made = await createWorker();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof EncryptionConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const { worker, connection, targets } = made;
  const sealed = process.env[CODEC_KEYS_ENV]?.trim() ? `payloads encrypted (key ${process.env[CODEC_KEYS_ENV]!.trim().split(':')[0]})` : 'payloads not encrypted';
  console.log(`reset-runbook worker: task queue "${process.env.RR_TASK_QUEUE ?? TASK_QUEUE}", targets: ${Object.keys(targets.targets).join(', ')} (from ${targets.file}), ${sealed}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`reset-runbook worker stopped: ${err?.message ?? err}`);
    process.exit(1);
  });
}
