/**
 * What the activities reach outside the worker process — PostgreSQL, S3, child processes, the clock,
 * the environment — as dependencies passed in (the saga sample's `createActivities(db)`, graphile
 * worker's `withPgClient`). The worker passes the real ones (these defaults); unit tests pass fakes,
 * so a purge or an approval check can be tested without a server.
 */
import * as os from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import { Client, type ClientConfig } from 'pg';
import type { S3StorageServiceConfig as StorageServiceConfig } from '../../config/types';
import { s3ClientFor } from './s3';
import { runCommand } from './shell';

/** A new, unconnected client; withClient (postgres.ts) connects and ends it. */
export type PgClientFactory = (config: ClientConfig) => Client;
/** A client for one S3 service (or backup destination): its region, endpoint, path style. */
export type S3ClientFactory = (svc: Pick<StorageServiceConfig, 'region' | 'endpoint' | 'forcePathStyle'>) => S3Client;
/** Runs a command to its end, deadline or the activity's cancellation (shell.ts runCommand). */
export type CommandRunner = typeof runCommand;
/** Milliseconds since the epoch. */
export type Clock = () => number;
/** The name of the host this worker runs on, recorded with the local backups it writes. */
export type HostName = () => string;

/**
 * RESET_RUNBOOK_HOST names the worker's host where the system's name is not stable (a container's
 * hostname changes when it is recreated, while its backup volume stays) — and lets tests run two "hosts".
 */
const HOST_ENV = 'RESET_RUNBOOK_HOST';

export interface Dependencies {
  pg: PgClientFactory;
  s3: S3ClientFactory;
  run: CommandRunner;
  now: Clock;
  hostname: HostName;
}

export const realPgClient: PgClientFactory = (config) => new Client(config);

/** The real dependencies, the S3 clients' default region taken from `env` (AWS_REGION). */
export function realDependencies(env: NodeJS.ProcessEnv): Dependencies {
  const host = env[HOST_ENV]?.trim() || os.hostname();
  return { pg: realPgClient, s3: (svc) => s3ClientFor(svc, env), run: runCommand, now: Date.now, hostname: () => host };
}

/** The given dependencies, the real ones where none is given. */
export function withDefaults(given: Partial<Dependencies>, env: NodeJS.ProcessEnv): Dependencies {
  const real = realDependencies(env);
  return {
    pg: given.pg ?? real.pg,
    s3: given.s3 ?? real.s3,
    run: given.run ?? real.run,
    now: given.now ?? real.now,
    hostname: given.hostname ?? real.hostname,
  };
}
