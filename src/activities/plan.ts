/**
 * Step 0 — plan. Reads the target and reports what a reset would do; changes nothing, anywhere.
 * Problems that make a reset impossible are returned as `errors` (the workflow refuses to go on),
 * not thrown: a plan with errors is still a useful answer to "what would happen?".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { formatBytes, type Plan } from '../contract';
import { crashPoint } from './lib/faults';
import { withKeepalive } from './lib/keepalive';
import { baseEnv } from './lib/child-env';
import { describeHolder, lockHolders } from './lib/reset-lock';
import { approvalSettings, workerSettings } from './lib/run-settings';
import { probeBackupStore, probeQuarantine } from './plan-probes';
import { planStorage } from './plan-storage';
import { materializedViewWarnings, planTables } from './plan-tables';
import { undoPlan } from './plan-undo';
import { planWorkers } from './plan-workers';
import { planDigest } from './lib/tables';
import { alwaysApprove } from '../config/schema-approval';
import { resolveTarget, type ActivityDeps, type ResolvedTarget } from './lib/target';

export function createPlanActivities(deps: ActivityDeps) {
  return {
    /** exactCounts: the run's ResetInput.exactCounts (overrides the target's plan.exactCounts). */
    async planReset(args: { target: string; exactCounts?: boolean }): Promise<Plan> {
      return withKeepalive(async () => {
        const plan = await makePlan(resolveTarget(deps, args.target), { exactCounts: args.exactCounts });
        crashPoint('plan.done');
        const { attempt } = Context.current().info;
        return attempt > 1 ? { ...plan, attempt } : plan;
      });
    },
  };
}

export async function makePlan(t: ResolvedTarget, opts: { exactCounts?: boolean } = {}): Promise<Plan> {
  const cfg = t.config;
  const counting = {
    exactCounts: opts.exactCounts ?? cfg.plan.exactCounts,
    estimateAboveRows: cfg.plan.estimateAboveRows,
  };
  const warnings: string[] = [];
  const errors: string[] = [];
  const strategy = cfg.strategy.kind;
  // Everything the plan reads starts at once: the tables, the blob table and its sample (HEAD requests, the
  // longest part), the workers, pg_dump and the lock holders. The sample waits only for the primary's
  // decision (is the blob table truncated?), not for its tables' counts.
  let primaryDecided: (dropsBlobs: boolean) => void = () => undefined;
  const blobsDropped = new Promise<boolean>((resolve) => (primaryDecided = resolve));
  const planned = planTables(t, counting, (d) => {
    if (d.database === 'primary') primaryDecided(d.truncate.some((x) => x.table === 'active_storage_blobs'));
  });
  // Settled whatever happens (the first call wins): a failed table plan leaves no sample waiting.
  planned.then(
    (p) => primaryDecided(p.tables.some((x) => x.database === 'primary' && isDroppedBlobTable(x))),
    () => primaryDecided(false),
  );
  // Each part keeps its own warnings; they are joined below in the order the plan has always shown them.
  const storageWarnings: string[] = [];
  const storageErrors: string[] = [];
  const storage = planStorage(t, blobsDropped, storageWarnings, storageErrors);
  storage.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
  // The places the run writes to take a write (a probe object, removed again): refused here, not after the TRUNCATE.
  const probeWarnings: string[] = [];
  const probeErrors: string[] = [];
  const probes = Promise.all([
    probeQuarantine(t, probeErrors, probeWarnings),
    probeBackupStore(t, probeErrors, probeWarnings),
  ]);
  probes.catch(() => undefined);
  const workerWarnings: string[] = [];
  const workers = planWorkers(t, workerWarnings);
  workers.catch(() => undefined);
  const pgDump = cfg.backup.pgDump ?? 'pg_dump';
  const pgDumpRun = t.run([pgDump, '--version'], { timeoutMs: 10_000, env: baseEnv(t.env) });
  pgDumpRun.catch(() => undefined);
  const holders = lockHolders(t);
  holders.catch(() => undefined);

  const {
    tables,
    decisions,
    materializedViews,
    databaseName,
    environment,
    serverVersion,
    databaseBytes,
    errors: tableErrors,
  } = await planned;
  errors.push(...tableErrors);

  warnings.push(...materializedViewWarnings(materializedViews));

  const { workersAlive, claimedExecutions, startWorkersAtEnd } = await workers;
  warnings.push(...workerWarnings);

  // pg_dump must be at least the server's major version, or it refuses to dump.
  const v = await pgDumpRun;
  const pgDumpVersion = v.code === 0 ? (/(\d+(?:\.\d+)*)/.exec(v.output)?.[1] ?? v.output.trim()) : '';
  if (!pgDumpVersion)
    errors.push(
      `${pgDump} not found or not runnable on the worker host; install the PostgreSQL client of major version ${major(serverVersion)}`,
    );
  else if (major(pgDumpVersion) < major(serverVersion)) {
    errors.push(
      `pg_dump ${pgDumpVersion} is older than the server (${serverVersion}) and would refuse to dump; install postgresql-client-${major(serverVersion)} or set backup.pgDump`,
    );
  }

  // Disk: a custom-format dump is compressed, but we refuse to gamble with less room than the database's size.
  // An S3 destination streams: nothing lands on the worker's disk (-1: not applicable).
  const backupDirFreeBytes = cfg.backup.dir && cfg.backup.destination?.kind !== 's3' ? freeBytes(cfg.backup.dir) : -1;
  if (backupDirFreeBytes >= 0 && backupDirFreeBytes < databaseBytes) {
    errors.push(
      `backup folder ${cfg.backup.dir} has ${formatBytes(backupDirFreeBytes)} free, less than the databases' ${formatBytes(databaseBytes)}; free space or point backup.dir elsewhere`,
    );
  }

  const highRisk = strategy === 'rebuild';
  if (highRisk)
    warnings.push(
      `HIGH RISK: strategy "rebuild" runs ${(cfg.strategy as { command: string[] }).command.join(' ')}, which drops and recreates the schema`,
    );
  if (environment === undefined)
    warnings.push('ar_internal_metadata has no environment: treating the database as production');
  if (!cfg.seeds) warnings.push('no seeds configured: every truncated table stays empty');
  for (const h of await holders) warnings.push(`${describeHolder(h)}: an execute run is refused until that run ends`);
  if (claimedExecutions > 0)
    warnings.push(
      `${claimedExecutions} job(s) are claimed right now; stopping the workers will let them finish or release them`,
    );

  const { blobs, objectsToDelete, purged } = await storage;
  warnings.push(...storageWarnings);
  errors.push(...storageErrors);
  await probes;
  warnings.push(...probeWarnings);
  errors.push(...probeErrors);

  const settings = {
    heartbeatTimeoutSeconds: cfg.timing.heartbeatTimeoutSeconds,
    maximumAttempts: cfg.timing.maximumAttempts,
    approvalRequired: alwaysApprove(cfg.approval.required),
    approvalTimeout: cfg.approval.timeout,
    ...approvalSettings(cfg.approval),
    workersConfigured: Boolean(cfg.workers),
    storageConfigured: Boolean(cfg.storage),
    ...workerSettings(cfg.workers),
    startWorkersAtEnd,
    // Only when it changes something (workers and storage both configured): other plans stay as they were.
    ...(cfg.workers?.startBeforePurge && cfg.storage ? { startWorkersBeforePurge: true } : {}),
    backupMaxAgeMinutes: cfg.backup.maxAgeMinutes,
    notifications: (cfg.notify?.webhooks.length ?? 0) > 0,
  };
  const digest = planDigest({
    target: t.name,
    databaseName,
    strategy,
    restartIdentity: cfg.restartIdentity,
    decisions,
  });
  return {
    target: t.name,
    databaseName,
    environment,
    strategy,
    highRisk,
    tables,
    foreignKeys: decisions.flatMap((d) => d.foreignKeys),
    materializedViews,
    blobs,
    objectsToDelete,
    workersAlive,
    claimedExecutions,
    pgDumpVersion,
    serverVersion,
    databaseBytes,
    backupDirFreeBytes,
    warnings,
    errors,
    settings,
    digest,
    createdAt: new Date().toISOString(),
    undo: undoPlan(cfg, purged),
  };
}

const isDroppedBlobTable = (x: { table: string; action: string }) =>
  x.table === 'active_storage_blobs' && x.action === 'truncate';

const major = (v: string) => Number(/^(\d+)/.exec(v)?.[1] ?? 0);

function freeBytes(dir: string): number {
  // The folder may not exist yet (the backup creates it): measure the nearest existing ancestor.
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  const s = fs.statfsSync(d);
  return s.bavail * s.bsize;
}
