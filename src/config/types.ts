/**
 * The targets file, as the worker reads it (path in RESET_RUNBOOK_TARGETS). JSON.
 * Secrets appear only as the *names* of environment variables (`urlEnv`), never as values.
 */

import type { NotifyEvent } from '../workflows/definitions';

export interface TargetsFile {
  targets: Record<string, TargetConfig>;
}

export interface DatabaseConfig {
  /** Name of the environment variable holding the PostgreSQL URL (e.g. "DATABASE_URL"). */
  urlEnv: string;
  /** Schemas to reset. Default: the connection's search path (its existing schemas). */
  schemas?: string[];
  /** Tables kept besides schema_migrations and ar_internal_metadata (always kept). "table" or "schema.table". */
  keepTables?: string[];
  /**
   * Refresh the materialized views that read truncated tables after the seeds, in dependency order,
   * so they show the new rows rather than the old ones. Default true; when false they keep their old
   * rows (the plan says so).
   */
  refreshMaterializedViews?: boolean;
}

export interface ExtraDatabaseConfig extends DatabaseConfig {
  /** Logical name, as Rails' database.yml calls it: "queue", "cache", "cable". */
  name: string;
}

export type SeedConfig =
  /** Applied in the same transaction as the TRUNCATE. Relative paths resolve against the targets file. */
  | { sqlFile: string; database?: string }
  /** Run after the TRUNCATE commits, e.g. ["bin/rails", "db:seed"]. */
  | { command: string[]; cwd?: string; env?: Record<string, string>; timeoutSeconds?: number };

export type StrategyConfig =
  | { kind: 'replant' }
  /** For a corrupted schema only: `bin/rails db:reset` or `db:migrate:reset`. High risk. */
  | { kind: 'rebuild'; command: string[]; cwd?: string; env?: Record<string, string>; timeoutSeconds?: number };

export interface WorkersConfig {
  /** Shell commands, e.g. "sudo systemctl stop solid_queue" or "ssh app1 sudo systemctl stop solid_queue". */
  stop: string;
  start: string;
  status?: string;
  cwd?: string;
  /** Extra environment for the commands; `${VAR}` is taken from the worker's environment. */
  env?: Record<string, string>;
  /** Which database holds solid_queue_processes: "primary" (default) or an extra database's name. */
  database?: string;
  /** A process whose heartbeat is older than this is dead (Solid Queue's process_alive_threshold). Default 300. */
  heartbeatThresholdSeconds?: number;
  stopTimeoutSeconds?: number; // default 120
  startTimeoutSeconds?: number; // default 120
  /**
   * Total time a failing run may spend starting the workers again before it gives up and says they
   * are still stopped (attempts of startTimeoutSeconds each, with a pause between). Default 300.
   */
  restartBudgetSeconds?: number;
  /**
   * When no Solid Queue process is alive before the reset: "start" (default) starts them at the end
   * anyway, so the application has workers after a reset; "leave" leaves them stopped, as they were.
   */
  whenNoneAliveBefore?: 'start' | 'leave';
}

/** An S3 bucket (the default kind: files written before "kind" existed have none). */
export interface S3StorageServiceConfig {
  kind?: 's3';
  bucket: string;
  prefix?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  /** false: this service's files are never deleted (its blobs are still truncated). Default true. */
  purge?: boolean;
}

/** ActiveStorage's Disk service (`local`): files at `<root>/<key[0,2]>/<key[2,2]>/<key>`. */
export interface DiskStorageServiceConfig {
  kind: 'disk';
  /** The service's root folder; relative paths resolve against the targets file. */
  root: string;
  purge?: boolean;
}

export type StorageServiceConfig = S3StorageServiceConfig | DiskStorageServiceConfig;

export interface StorageConfig {
  /** Keyed by ActiveStorage service name (active_storage_blobs.service_name), e.g. "amazon". */
  services: Record<string, StorageServiceConfig>;
  /** Keys per DeleteObjects call and ListObjectsV2 page (S3's maximum, 1000, by default). */
  pageSize?: number;
  /** DeleteObjects calls (Disk: unlink batches) in flight at once. Default 4, at most 32. */
  concurrency?: number;
  /** Keys the plan HEADs (Disk: stats) to report how many of the objects to delete exist. Default 100; 0 turns it off. */
  sampleSize?: number;
  /**
   * Issue 8: before the purge deletes an object it copies it here (server-side CopyObject, on the
   * service's own endpoint, so the bucket must be reachable from it) under
   * `<prefix><reset run id>/<service>/<original key>`, so that a restore can bring it back.
   * `days` is documentation for the bucket's lifecycle rule, which expires the copies; we do not enforce it.
   * S3 services only: Disk services' files are not quarantined (the plan says so).
   */
  quarantine?: QuarantineConfig;
}

export interface QuarantineConfig {
  bucket: string;
  /** Default "reset-quarantine/". */
  prefix?: string;
  days?: number;
}

/**
 * Backups (and the run state kept beside them: purge manifests, reset journals) in a bucket every
 * worker host reaches. Credentials come from the standard AWS chain, as for storage.services.
 */
export interface S3BackupDestination {
  kind: 's3';
  bucket: string;
  /** Key prefix, e.g. "reset-runbook/production/"; include the trailing slash. */
  prefix?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  serverSideEncryption?: 'AES256' | 'aws:kms';
  /** With "aws:kms": the key's id or ARN (default: the bucket's AWS managed key). */
  kmsKeyId?: string;
}

export interface BackupConfig {
  /**
   * The local folder of backups, manifests and journals: right for a single worker host. Required
   * unless destination is S3 (then nothing is written on the worker's disk).
   */
  dir?: string;
  /** Where backups go instead of dir; any worker of the target can then finish any run. */
  destination?: S3BackupDestination;
  keep?: number; // default 5
  /** The reset refuses a backup older than this. Default 60. */
  maxAgeMinutes?: number;
  /** pg_dump / pg_restore to use; default from PATH. */
  pgDump?: string;
  pgRestore?: string;
}

export interface ExpectedCount {
  label: string;
  table: string;
  database?: string; // default "primary"
  count?: number;
  min?: number;
  max?: number;
}

export interface TargetConfig {
  database: DatabaseConfig;
  /**
   * Names of further environment variables of the worker whose values are secrets (e.g. ["STRIPE_KEY"]):
   * redacted from every result, error and log, like the database URLs, PGPASSWORD and the AWS keys.
   * Child processes get a variable only when seeds.env / workers.env / strategy.env pass it explicitly.
   */
  secretEnv?: string[];
  extraDatabases?: ExtraDatabaseConfig[];
  /** Default false: ids keep counting, as db:seed:replant leaves them. */
  restartIdentity?: boolean;
  seeds?: SeedConfig;
  strategy?: StrategyConfig;
  workers?: WorkersConfig;
  storage?: StorageConfig;
  backup: BackupConfig;
  verify?: { expect: ExpectedCount[] };
  approval?: { required?: boolean; timeout?: string };
  /** How the workflow paces this target's activities. */
  timing?: TimingConfig;
  /** How the plan counts rows. */
  plan?: PlanConfig;
  /** Who hears about a run that waits for a person, leaves the workers stopped, completes or fails. */
  notify?: NotifyConfig;
}

export interface WebhookConfig {
  /** Name of the environment variable holding the webhook URL (a secret: never the URL itself). */
  urlEnv: string;
  /** The events this webhook receives. Default: all of them. */
  events?: NotifyEvent[];
}

export interface NotifyConfig {
  /** Each receives a JSON POST {event, target, runId, workflowId, outcome, step, text} (Slack-compatible). */
  webhooks: WebhookConfig[];
}

export interface TimingConfig {
  /** A worker that dies mid-step is noticed after this long and the step is retried elsewhere. Default 30. */
  heartbeatTimeoutSeconds?: number;
  /** Attempts per step before the run waits for an operator. Default 3. */
  maximumAttempts?: number;
  /** How long the TRUNCATE waits for a table lock held by another session. Default 10. */
  lockTimeoutSeconds?: number;
}

export interface PlanConfig {
  /** Count every table exactly, however large. Default false (ResetInput.exactCounts overrides it for one run). */
  exactCounts?: boolean;
  /** Tables whose pg_class.reltuples estimate is at least this are shown with the estimate ("≈"). Default 100000. */
  estimateAboveRows?: number;
}
