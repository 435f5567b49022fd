/**
 * Resolving a target name into what the activities need, secrets included. This is the only place
 * database URLs are read from the environment, and they never leave the worker process.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { LoadedTargets } from '../../config/load';
import { ALWAYS_KEPT } from '../../config/load';
import type { TargetConfig } from '../../config/types';
import {
  withDefaults,
  type Clock,
  type CommandRunner,
  type Dependencies,
  type HostName,
  type PgClientFactory,
  type S3ClientFactory,
} from './deps';

export interface DatabaseHandle {
  /** "primary", or an extra database's logical name ("queue", "cache", …). */
  name: string;
  url: string;
  schemas?: string[];
  keepTables: string[];
  /**
   * Refresh the materialized views over truncated tables after the seeds (database.refreshMaterializedViews, default
   * true).
   */
  refreshMaterializedViews: boolean;
  /** Makes this database's clients (withClient, postgres.ts); a real pg Client when not given. */
  connect?: PgClientFactory;
}

export interface ResolvedTarget {
  name: string;
  config: TargetConfig;
  databases: DatabaseHandle[];
  primary: DatabaseHandle;
  env: NodeJS.ProcessEnv;
  /** The worker's dependencies (deps.ts), for the steps that run on this target. */
  s3: S3ClientFactory;
  run: CommandRunner;
  now: Clock;
  hostname: HostName;
}

/**
 * What createActivities is given: the targets, the worker's environment (the only place secrets are
 * read from), and optionally the outside world (deps.ts) — the real one wherever a field is left out.
 */
export interface ActivityDeps extends Partial<Dependencies> {
  targets: LoadedTargets;
  env: NodeJS.ProcessEnv;
}

export function resolveTarget(deps: ActivityDeps, name: string): ResolvedTarget {
  const config = deps.targets.targets[name];
  if (!config) {
    const known = Object.keys(deps.targets.targets).join(', ') || '(none)';
    // Read by the operator at the CLI, who may never have seen the worker's host: say which file the
    // worker read, what it has, and that the worker reads that file only when it starts.
    throw ApplicationFailure.nonRetryable(
      `Target "${name}" is not in the worker's targets file ${deps.targets.file} (it has: ${known}). Add it there and restart the worker, then run this again.`,
      'UnknownTarget',
    );
  }
  const url = (envName: string) => {
    const v = deps.env[envName];
    if (!v)
      throw ApplicationFailure.nonRetryable(
        `Target "${name}": environment variable ${envName} is not set on this worker.`,
        'MissingSecret',
      );
    return v;
  };
  const d = withDefaults(deps, deps.env);
  const primary: DatabaseHandle = {
    name: 'primary',
    url: url(config.database.urlEnv),
    schemas: config.database.schemas,
    keepTables: [...ALWAYS_KEPT, ...(config.database.keepTables ?? [])],
    refreshMaterializedViews: config.database.refreshMaterializedViews,
    connect: d.pg,
  };
  const extras = (config.extraDatabases ?? []).map((x) => ({
    name: x.name,
    url: url(x.urlEnv),
    schemas: x.schemas,
    keepTables: [...ALWAYS_KEPT, ...(x.keepTables ?? [])],
    refreshMaterializedViews: x.refreshMaterializedViews,
    connect: d.pg,
  }));
  return {
    name,
    config,
    primary,
    databases: [primary, ...extras],
    env: deps.env,
    s3: d.s3,
    run: d.run,
    now: d.now,
    hostname: d.hostname,
  };
}

export function databaseByName(t: ResolvedTarget, name = 'primary'): DatabaseHandle {
  const d = t.databases.find((x) => x.name === name);
  if (!d) throw ApplicationFailure.nonRetryable(`Target "${t.name}" has no database named "${name}".`, 'BadConfig');
  return d;
}
