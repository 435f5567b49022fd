/** The stand-in Solid Queue service's settings, from the environment (as Solid Queue reads queue.yml + env). */
import * as os from 'os';

export interface ServiceConfig {
  databaseUrl: string;
  /** SolidQueue.process_heartbeat_interval (default 60 s). */
  heartbeatSeconds: number;
  /** SolidQueue.process_alive_threshold (default 5 min): older heartbeats are dead processes. */
  aliveThresholdSeconds: number;
  /** Worker polling_interval (Solid Queue: 0.1 s; ours is gentler on a shared machine). */
  workerPollSeconds: number;
  /** Dispatcher polling_interval (Solid Queue: 1 s). */
  dispatcherPollSeconds: number;
  /** Jobs claimed per poll (the worker's thread pool size, Solid Queue default 3). */
  threads: number;
  /** How long "performing" one job takes. */
  jobSeconds: number;
  /**
   * SolidQueue.shutdown_timeout (default 5 s): in-flight jobs get this long on TERM before their claims are released.
   */
  shutdownTimeoutSeconds: number;
  hostname: string;
  /** Written once the processes are registered (rows committed); removed on exit. */
  readyFile?: string;
}

function seconds(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of seconds, not ${JSON.stringify(raw)}`);
  return n;
}

export function configFromEnv(): ServiceConfig {
  const databaseUrl = process.env.QUEUE_DATABASE_URL || process.env.DATABASE_URL;
  if (!databaseUrl)
    throw new Error('set QUEUE_DATABASE_URL or DATABASE_URL to the database holding solid_queue_* tables');
  return {
    databaseUrl,
    heartbeatSeconds: seconds('SQ_HEARTBEAT_SECONDS', 60),
    aliveThresholdSeconds: seconds('SQ_ALIVE_THRESHOLD_SECONDS', 300),
    workerPollSeconds: seconds('SQ_POLL_SECONDS', 0.5),
    dispatcherPollSeconds: seconds('SQ_DISPATCHER_POLL_SECONDS', 1),
    threads: Math.max(1, Math.floor(seconds('SQ_THREADS', 3))),
    jobSeconds: seconds('SQ_JOB_SECONDS', 0),
    shutdownTimeoutSeconds: seconds('SQ_SHUTDOWN_TIMEOUT_SECONDS', 5),
    hostname: process.env.SQ_HOSTNAME || os.hostname(),
    readyFile: process.env.SQ_READY_FILE || undefined,
  };
}
