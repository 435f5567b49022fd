/**
 * The demo's target configuration, built for a given stack (ports, bucket, folders): what
 * `scripts/demo` writes into its targets file, and what the end-to-end tests use. It is also the
 * worked example of a target: compare deploy/targets.example.json for production.
 */
import * as path from 'node:path';
import type { TargetConfigInput as TargetConfig } from '../src/config/types';

const ROOT = path.resolve(__dirname, '..');

export interface DemoTargetOptions {
  /** Names of the env variables that hold the database URLs (the worker resolves them). */
  urlEnv: string;
  queueUrlEnv?: string;
  bucket: string;
  endpoint: string;
  prefix?: string;
  backupDir: string;
  /** The stand-in Solid Queue service's PID file: one service per target. */
  pidFile: string;
  heartbeatSeconds?: number;
  seeds?: 'sql' | 'command';
  /** With seeds 'command': run this instead of demo/bin/seed. */
  seedCommand?: string[];
  /** With seeds 'sql': apply this file instead of demo/db/seeds.sql. */
  seedSqlFile?: string;
  /** Use the high-risk "rebuild" strategy with this command (DATABASE_URL set for it). */
  rebuildCommand?: string[];
  pageSize?: number;
  timing?: TargetConfig['timing'];
  backup?: Partial<TargetConfig['backup']>;
  keepTables?: string[];
  /** database.refreshMaterializedViews (default true). */
  refreshMaterializedViews?: boolean;
  /** Leave out the workers section: Solid Queue is then stopped and started by hand. */
  noWorkers?: boolean;
  /** workers.whenNoneAliveBefore (default "start"). */
  whenNoneAliveBefore?: 'start' | 'leave';
  /** workers.startBeforePurge (default false): the workers start right after the seeds, before the purge. */
  startBeforePurge?: boolean;
  notify?: TargetConfig['notify'];
}

export function demoTarget(o: DemoTargetOptions): TargetConfig {
  // Commands get only an allow-list of the worker's environment (PATH, HOME, LANG, …: see
  // src/activities/lib/child-env.ts) plus what is passed here: each command's database URL is explicit.
  const serviceEnv: Record<string, string> = {
    SQ_PID_FILE: o.pidFile,
    DATABASE_URL: `\${${o.urlEnv}}`,
    SQ_HEARTBEAT_SECONDS: String(o.heartbeatSeconds ?? 1),
  };
  if (o.queueUrlEnv) serviceEnv.QUEUE_DATABASE_URL = `\${${o.queueUrlEnv}}`;
  const queueDb = o.queueUrlEnv ? 'queue' : undefined;
  const service = path.join(ROOT, 'scripts', 'solid-queue-service');
  return {
    database: { urlEnv: o.urlEnv, keepTables: o.keepTables, refreshMaterializedViews: o.refreshMaterializedViews },
    extraDatabases: o.queueUrlEnv ? [{ name: 'queue', urlEnv: o.queueUrlEnv }] : undefined,
    seeds:
      o.seeds === 'command'
        ? {
            command: o.seedCommand ?? [path.join(ROOT, 'demo', 'bin', 'seed')],
            env: { DATABASE_URL: `\${${o.urlEnv}}` },
            timeoutSeconds: 120,
          }
        : { sqlFile: o.seedSqlFile ?? path.join(ROOT, 'demo', 'db', 'seeds.sql') },
    strategy: o.rebuildCommand
      ? { kind: 'rebuild', command: o.rebuildCommand, env: { DATABASE_URL: `\${${o.urlEnv}}` }, timeoutSeconds: 300 }
      : undefined,
    workers: o.noWorkers
      ? undefined
      : {
          stop: `${service} stop`,
          start: `${service} start`,
          status: `${service} status`,
          env: serviceEnv,
          database: queueDb,
          // The stand-in heartbeats every second; a process silent for 5 s is gone.
          heartbeatThresholdSeconds: Math.max(5, 5 * (o.heartbeatSeconds ?? 1)),
          stopTimeoutSeconds: 60,
          startTimeoutSeconds: 60,
          whenNoneAliveBefore: o.whenNoneAliveBefore,
          startBeforePurge: o.startBeforePurge,
        },
    storage: {
      services: {
        amazon: { bucket: o.bucket, prefix: o.prefix, endpoint: o.endpoint, forcePathStyle: true, region: 'us-east-1' },
      },
      pageSize: o.pageSize,
    },
    backup: { dir: o.backupDir, keep: 3, maxAgeMinutes: 60, ...o.backup },
    verify: {
      expect: [
        { label: 'Users', table: 'users', count: 6 },
        { label: 'Phone Models', table: 'phone_models', count: 10 },
        { label: 'System Settings', table: 'system_settings', count: 1 },
        { label: 'Customers', table: 'customers', count: 0 },
        { label: 'Loans', table: 'loans', count: 0 },
        { label: 'Queue Jobs', table: 'solid_queue_jobs', database: queueDb, count: 0 },
      ],
    },
    timing: { heartbeatTimeoutSeconds: 5, maximumAttempts: 3, lockTimeoutSeconds: 5, ...o.timing },
    notify: o.notify,
  };
}
