/**
 * Step 0 — plan. Reads the target and reports what a reset would do; changes nothing, anywhere.
 * Problems that make a reset impossible are returned as `errors` (the workflow refuses to go on),
 * not thrown: a plan with errors is still a useful answer to "what would happen?".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBytes, type MaterializedViewPlan, type Plan, type TablePlan } from '../contract';
import type { Client } from 'pg';
import { blobsByService, sampleBlobKeys, summariseBlobs } from './lib/blobs';
import { diskFileExists } from './lib/disk-files';
import { eachLimited } from './lib/quarantine';
import { crashPoint } from './lib/faults';
import { withKeepalive } from './lib/keepalive';
import { materializedViewRows, materializedViewsOver } from './lib/matviews';
import { countRows, qualified, tableExists, withClient } from './lib/postgres';
import { objectExists } from './lib/s3';
import { processesEverRegistered, queueState } from './lib/solid-queue';
import { baseEnv } from './lib/child-env';
import { describeHolder, lockHolders } from './lib/reset-lock';
import { workerSettings } from './lib/run-settings';
import { probeBackupStore, probeQuarantine } from './plan-probes';
import { undoPlan } from './plan-undo';
import { decideTables, planDigest, type TableDecision } from './lib/tables';
import { databaseByName, resolveTarget, type ActivityDeps, type ResolvedTarget } from './lib/target';

export function createPlanActivities(deps: ActivityDeps) {
  return {
    /** exactCounts: the run's ResetInput.exactCounts (overrides the target's plan.exactCounts). */
    async planReset(args: { target: string; exactCounts?: boolean }): Promise<Plan> {
      return withKeepalive(async () => {
        const plan = await makePlan(resolveTarget(deps, args.target), { exactCounts: args.exactCounts });
        crashPoint('plan.done');
        return plan;
      });
    },
  };
}

export async function makePlan(t: ResolvedTarget, opts: { exactCounts?: boolean } = {}): Promise<Plan> {
  const cfg = t.config;
  const counting = { exactCounts: opts.exactCounts ?? cfg.plan.exactCounts, estimateAboveRows: cfg.plan.estimateAboveRows };
  const warnings: string[] = [];
  const errors: string[] = [];
  const tables: TablePlan[] = [];
  const decisions: TableDecision[] = [];
  let databaseName = '';
  let environment: string | undefined;
  let serverVersion = '';
  let databaseBytes = 0;
  const strategy = cfg.strategy.kind;
  const materializedViews: MaterializedViewPlan[] = [];

  for (const db of t.databases) {
    await withClient(db, async (c) => {
      const info = (
        await c.query<{ name: string; version: string; bytes: string }>(
          `SELECT current_database() AS name, current_setting('server_version') AS version, pg_database_size(current_database())::bigint AS bytes`,
        )
      ).rows[0];
      databaseBytes += Number(info.bytes);
      if (db.name === 'primary') {
        databaseName = info.name;
        serverVersion = info.version;
        if (await tableExists(c, 'ar_internal_metadata')) {
          const env = await c.query<{ value: string }>(`SELECT value FROM ar_internal_metadata WHERE key = 'environment'`);
          environment = env.rows[0]?.value;
        }
      }
      const d = await decideTables(c, db);
      decisions.push(d);
      const estimates = counting.exactCounts ? new Map<string, number>() : await rowEstimates(c);
      errors.push(...d.errors);
      for (const [action, list] of [
        ['truncate', d.truncate],
        ['keep', d.keep],
      ] as const) {
        for (const tb of list) {
          // A large table's count takes longer than the rest of the plan: its estimate says as much to a person.
          const estimate = counting.exactCounts ? undefined : estimates.get(qualified(tb));
          if (estimate !== undefined && estimate >= counting.estimateAboveRows) tables.push({ database: db.name, schema: tb.schema, table: tb.table, rows: estimate, estimated: true, action });
          else tables.push({ database: db.name, schema: tb.schema, table: tb.table, rows: await countRows(c, tb), action });
        }
      }
      // A rebuild recreates the schema, views included; only a replant leaves views over emptied tables.
      if (strategy === 'replant') {
        for (const m of await materializedViewsOver(c, d.truncate)) {
          materializedViews.push({ database: db.name, name: qualified(m), dependsOn: m.dependsOn, rows: await materializedViewRows(c, m), refresh: db.refreshMaterializedViews });
        }
      }
    });
  }

  // Storage: the objects of every blob the truncation drops (all of them, unless the blob table is kept).
  const blobsDropped = tables.some((x) => x.database === 'primary' && x.table === 'active_storage_blobs' && x.action === 'truncate');
  // The storage sample (HEAD requests) runs while the rest of the plan reads the database.
  const storageWarnings: string[] = [];
  const storageErrors: string[] = [];
  const storage = planStorage(t, blobsDropped, storageWarnings, storageErrors);
  storage.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
  // The places the run writes to take a write (a probe object, removed again): refused here, not after the TRUNCATE.
  const probeWarnings: string[] = [];
  const probeErrors: string[] = [];
  const probes = Promise.all([probeQuarantine(t, probeErrors, probeWarnings), probeBackupStore(t, probeErrors, probeWarnings)]);
  probes.catch(() => undefined);

  for (const m of materializedViews) {
    const rows = `${m.rows} row${m.rows === 1 ? '' : 's'}`;
    const what = `materialized view ${m.name} (database "${m.database}", ${rows}) reads truncated table(s) ${m.dependsOn.join(', ')}`;
    warnings.push(
      m.refresh
        ? `${what}: the reset refreshes it after the seeds (REFRESH MATERIALIZED VIEW; database.refreshMaterializedViews: false turns this off)`
        : `${what}: it keeps its ${m.rows} old row${m.rows === 1 ? '' : 's'} after the reset, because database.refreshMaterializedViews is false; refresh it by hand afterwards`,
    );
  }

  // Workers
  let workersAlive = 0;
  let claimedExecutions = 0;
  let startWorkersAtEnd = false;
  const w = cfg.workers;
  if (w) {
    const where = w.database;
    await withClient(databaseByName(t, w.database), async (c) => {
      const q = await queueState(c, w.heartbeatThresholdSeconds);
      if (!q.present) warnings.push(`no solid_queue_processes table in database "${where}": cannot watch the workers stop`);
      workersAlive = q.alive;
      claimedExecutions = q.claimedTotal;
      if (q.stale) warnings.push(`${q.stale} Solid Queue process row(s) have stale heartbeats (a crashed host?); they are ignored`);
      // "start" by default: a reset should leave the application with workers, and a run that starts
      // them proves the start command works; "leave" is for targets whose workers are meant to be off.
      startWorkersAtEnd = q.alive > 0 || w.whenNoneAliveBefore === 'start';
      if (q.alive === 0) {
        warnings.push(
          startWorkersAtEnd
            ? `no Solid Queue process is alive before the reset, yet the run will start the workers at the end with "${w.start}" (workers.whenNoneAliveBefore: "start"; set it to "leave" to leave them stopped, as they were)`
            : `no Solid Queue process is alive before the reset: the workers will be left stopped at the end, as they were (workers.whenNoneAliveBefore: "leave"); start them by hand with "${w.start}" if they should run`,
        );
      }
      if ((await processesEverRegistered(c)) === false) {
        warnings.push(
          `no Solid Queue process has ever registered in database "${where}" (solid_queue_processes is empty and its id sequence was never used): "${w.start}" cannot be expected to bring heartbeats back${startWorkersAtEnd ? ', so step 5 would fail after the TRUNCATE' : ''}; check that workers.database names the database Solid Queue writes to and that the start command really starts it`,
        );
      }
    });
  } else {
    warnings.push('no workers configured: Solid Queue must be stopped and started by hand around this reset');
    for (const db of t.databases) {
      await withClient(db, async (c) => {
        const q = await queueState(c, 300);
        if (q.alive === 0) return;
        workersAlive += q.alive;
        claimedExecutions += q.claimedTotal;
        warnings.push(
          `${q.alive} Solid Queue process(es) are alive in database "${db.name}" (heartbeat within 300 s) but this target configures no workers: they will keep running jobs while the reset truncates their tables; stop them by hand before approving, or configure workers.stop and workers.start`,
        );
      });
    }
  }

  // pg_dump must be at least the server's major version, or it refuses to dump.
  const pgDump = cfg.backup.pgDump ?? 'pg_dump';
  const v = await t.run([pgDump, '--version'], { timeoutMs: 10_000, env: baseEnv(t.env) });
  const pgDumpVersion = v.code === 0 ? (/(\d+(?:\.\d+)*)/.exec(v.output)?.[1] ?? v.output.trim()) : '';
  if (!pgDumpVersion) errors.push(`${pgDump} not found or not runnable on the worker host; install the PostgreSQL client of major version ${major(serverVersion)}`);
  else if (major(pgDumpVersion) < major(serverVersion)) {
    errors.push(`pg_dump ${pgDumpVersion} is older than the server (${serverVersion}) and would refuse to dump; install postgresql-client-${major(serverVersion)} or set backup.pgDump`);
  }

  // Disk: a custom-format dump is compressed, but we refuse to gamble with less room than the database's size.
  // An S3 destination streams: nothing lands on the worker's disk (-1: not applicable).
  const backupDirFreeBytes = cfg.backup.dir && cfg.backup.destination?.kind !== 's3' ? freeBytes(cfg.backup.dir) : -1;
  if (backupDirFreeBytes >= 0 && backupDirFreeBytes < databaseBytes) {
    errors.push(`backup folder ${cfg.backup.dir} has ${formatBytes(backupDirFreeBytes)} free, less than the databases' ${formatBytes(databaseBytes)}; free space or point backup.dir elsewhere`);
  }

  const highRisk = strategy === 'rebuild';
  if (highRisk) warnings.push(`HIGH RISK: strategy "rebuild" runs ${(cfg.strategy as { command: string[] }).command.join(' ')}, which drops and recreates the schema`);
  if (environment === undefined) warnings.push('ar_internal_metadata has no environment: treating the database as production');
  if (!cfg.seeds) warnings.push('no seeds configured: every truncated table stays empty');
  for (const h of await lockHolders(t)) warnings.push(`${describeHolder(h)}: an execute run is refused until that run ends`);
  if (claimedExecutions > 0) warnings.push(`${claimedExecutions} job(s) are claimed right now; stopping the workers will let them finish or release them`);

  const { blobs, objectsToDelete, purged } = await storage;
  warnings.push(...storageWarnings);
  errors.push(...storageErrors);
  await probes;
  warnings.push(...probeWarnings);
  errors.push(...probeErrors);

  const settings = {
    heartbeatTimeoutSeconds: cfg.timing.heartbeatTimeoutSeconds,
    maximumAttempts: cfg.timing.maximumAttempts,
    approvalRequired: cfg.approval.required,
    approvalTimeout: cfg.approval.timeout,
    workersConfigured: Boolean(cfg.workers),
    storageConfigured: Boolean(cfg.storage),
    ...workerSettings(cfg.workers),
    startWorkersAtEnd,
    backupMaxAgeMinutes: cfg.backup.maxAgeMinutes,
    notifications: (cfg.notify?.webhooks.length ?? 0) > 0,
  };
  const digest = planDigest({ target: t.name, databaseName, strategy, restartIdentity: cfg.restartIdentity, decisions });
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

async function planStorage(t: ResolvedTarget, blobsDropped: boolean, warnings: string[], errors: string[]) {
  const services = t.config.storage?.services ?? {};
  const { sampleSize, concurrency } = t.config.storage ?? { sampleSize: 0, concurrency: 1 };
  return withClient(t.primary, async (c) => {
    const blobs = await summariseBlobs(c);
    const objectsToDelete: Plan['objectsToDelete'] = { count: 0, bytes: 0 };
    if (!blobsDropped || blobs.count === 0) return { blobs: { count: blobs.count, bytes: blobs.bytes }, objectsToDelete, purged: [] };
    const missing = blobs.services.filter((s) => !services[s]);
    if (missing.length) {
      errors.push(
        `blobs are stored on ActiveStorage service(s) ${missing.join(', ')} but storage.services has no entry for them; add the bucket ({"bucket": …}) or the Disk root ({"kind": "disk", "root": …}) so their files can be cleaned, or mark the service {"purge": false} to keep its files`,
      );
    }
    // From the blob table, not a listing of the bucket: the cost follows what the reset deletes.
    // Untracked variants (variants/<key>/…) have no row, so they are not in this count.
    const perService = await blobsByService(c);
    const purged = Object.entries(services).filter(([name, svc]) => {
      const n = perService.get(name);
      if (!n) return false;
      if (!svc.purge) {
        warnings.push(
          `service ${name} has purge: false: the files of its ${n.count} blob(s) (${formatBytes(n.bytes)}) stay ${svc.kind === 'disk' ? `in ${svc.root}` : `in bucket ${svc.bucket}`}; only their rows are truncated`,
        );
        return false;
      }
      if (svc.kind === 'disk' && !fs.existsSync(svc.root)) errors.push(`the Disk service root ${svc.root} (service ${name}) does not exist on this worker; check storage.services.${name}.root`);
      objectsToDelete.count += n.count;
      objectsToDelete.bytes += n.bytes;
      if (svc.kind === 'disk' && !t.config.storage?.quarantine)
        warnings.push(`service ${name} is a Disk service without storage.quarantine: its files are deleted for good, and a restore cannot bring them back`);
      return true;
    });
    if (sampleSize > 0 && purged.length) {
      const sample = { checked: 0, present: 0 };
      // The sample is spread over the services in proportion to their blobs.
      for (const [name, svc] of purged) {
        const n = Math.max(1, Math.round((sampleSize * perService.get(name)!.count) / objectsToDelete.count));
        const keys = await sampleBlobKeys(c, name, Math.min(n, sampleSize - sample.checked));
        try {
          if (svc.kind === 'disk') {
            await eachLimited(keys, concurrency * 8, async (k) => {
              sample.checked++;
              if (await diskFileExists(svc.root, k)) sample.present++;
            });
          } else {
            const s3 = t.s3(svc);
            try {
              await eachLimited(keys, concurrency * 8, async (k) => {
                const present = await objectExists(s3, svc.bucket, `${svc.prefix ?? ''}${k}`);
                sample.checked++;
                if (present) sample.present++;
              });
            } finally {
              s3.destroy();
            }
          }
        } catch (err) {
          errors.push(
            `cannot read ${svc.kind === 'disk' ? `Disk service root ${svc.root}` : `bucket ${svc.bucket}`} (service ${name}): ${(err as Error).message}; check ${svc.kind === 'disk' ? 'the folder and its permissions' : 'the endpoint, region and credentials'}`,
          );
        }
      }
      objectsToDelete.sample = sample;
      if (sample.checked > 0 && sample.present < sample.checked) {
        warnings.push(
          `${sample.checked - sample.present} of ${sample.checked} sampled blob(s) have no file in storage (already gone, or storage.services points at the wrong place): the purge will count them as done`,
        );
      }
    }
    return { blobs: { count: blobs.count, bytes: blobs.bytes }, objectsToDelete, purged: purged.map(([name, svc]) => ({ name, svc, files: perService.get(name)!.count })) };
  });
}

/** pg_class.reltuples of every table of the connection's database ("schema.table"); -1 (never analysed) is left out. */
async function rowEstimates(c: Client): Promise<Map<string, number>> {
  const r = await c.query<{ schema: string; table: string; n: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, c.reltuples::bigint AS n
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.reltuples >= 0`,
  );
  return new Map(r.rows.map((x) => [qualified({ schema: x.schema, table: x.table }), Number(x.n)]));
}

const major = (v: string) => Number(/^(\d+)/.exec(v)?.[1] ?? 0);

function freeBytes(dir: string): number {
  // The folder may not exist yet (the backup creates it): measure the nearest existing ancestor.
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  const s = fs.statfsSync(d);
  return s.bavail * s.bsize;
}
