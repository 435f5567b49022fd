/**
 * The restore plan: which backup, its checksum, the counts it holds, and what the database holds now. Changes nothing.
 */
import { Context } from '@temporalio/activity';
import type { RestorePlan } from '../../contract';
import { assertChecksum } from '../lib/backup-source';
import { digestOf } from '../lib/digest';
import { withKeepalive } from '../lib/keepalive';
import { qualified, withClient } from '../lib/postgres';
import { countFiles } from '../lib/disk-files';
import { diskQuarantineDir, quarantineRunPrefix } from '../lib/quarantine';
import { listUnder } from '../lib/s3';
import { backupStoreFor } from '../lib/backup-store';
import { readPurgeProgress } from '../manifest';
import { queueState } from '../lib/solid-queue';
import { approvalSettings, workerSettings } from '../lib/run-settings';
import { DEFAULTS } from '../../config/defaults';
import { countDecision, decideTables } from '../lib/tables';
import { databaseByName, resolveTarget, type ActivityDeps, type ResolvedTarget } from '../lib/target';
import { findResetRun, type RestorePlanArgs } from './find-run';
import { checkNewerRows } from './newer-rows';
import { isLiveQueueTable } from './relations';

export async function planRestore(deps: ActivityDeps, args: RestorePlanArgs): Promise<RestorePlan> {
  const t = resolveTarget(deps, args.target);
  return withKeepalive(async (beat) => {
    const errors: string[] = [];
    const warnings: string[] = [];
    const found = await findResetRun(Context.current().client, t, args);
    const backup = found.backup;
    let checksumsOk = true;
    let done = 0;
    for (const f of backup.files) {
      try {
        await assertChecksum(t, f, (n) =>
          beat({ unit: 'bytes', done: done + n, total: backup.files.reduce((a, x) => a + x.bytes, 0) }),
        );
      } catch (err) {
        checksumsOk = false;
        errors.push((err as Error).message);
      }
      done += f.bytes;
    }
    for (const f of backup.files)
      if (!t.databases.some((d) => d.name === f.database))
        errors.push(`the backup holds database "${f.database}", which target "${t.name}" no longer has`);

    let databaseName = '';
    const countsNow: Record<string, number> = {};
    const tables: RestorePlan['tables'] = [];
    for (const db of t.databases) {
      await withClient(db, async (c) => {
        if (db.name === 'primary') databaseName = (await c.query(`SELECT current_database() AS n`)).rows[0].n;
        const d = await decideTables(c, db);
        errors.push(...d.errors);
        Object.assign(countsNow, await countDecision(c, d));
        // Solid Queue's process and claim rows are left as the live workers have them: not the restore's tables.
        for (const tb of d.truncate.filter((x) => !isLiveQueueTable(x))) {
          const k = `${db.name}/${qualified(tb)}`;
          tables.push({
            database: db.name,
            table: qualified(tb),
            rowsNow: countsNow[k],
            rowsInBackup: found.countsBefore?.[k],
          });
        }
      });
    }
    for (const k of Object.keys(found.countsBefore ?? {}))
      if (!(k in countsNow)) errors.push(`table ${k} is in the backup's counts but not in the database now`);
    const newer = checkNewerRows(found, tables, args.discardNewerRows === true);
    errors.push(...newer.errors);
    warnings.push(...newer.warnings);
    if (found.restoredBy)
      warnings.push(
        `reset run ${found.resetRunId} was already undone by restore run ${found.restoredBy.runId} at ${found.restoredBy.at}: this restores its backup again`,
      );

    const { quarantine, objectsMissing } = await storageToRestore(t, found.resetRunId, warnings);

    let workersAlive = 0;
    const w = t.config.workers;
    if (w)
      workersAlive = await withClient(
        databaseByName(t, w.database),
        async (c) => (await queueState(c, w.heartbeatThresholdSeconds)).alive,
      );
    const cfg = t.config;
    const settings = {
      heartbeatTimeoutSeconds: cfg.timing.heartbeatTimeoutSeconds,
      maximumAttempts: cfg.timing.maximumAttempts,
      approvalRequired: true,
      approvalTimeout: cfg.approval.timeout,
      // Four eyes: the restore counts its approvals as the target's reset does.
      ...approvalSettings(cfg.approval),
      workersConfigured: Boolean(w),
      storageConfigured: Boolean(cfg.storage),
      ...workerSettings(w),
      startWorkersAtEnd:
        workersAlive > 0 || (w?.whenNoneAliveBefore ?? DEFAULTS.workers.whenNoneAliveBefore) === 'start',
      notifications: false,
    };
    const backupAgeMinutes = Math.round((Date.now() - Date.parse(backup.createdAt)) / 60_000);
    return {
      target: t.name,
      databaseName,
      highRisk: false,
      resetRunId: found.resetRunId,
      backup,
      backupAgeMinutes,
      checksumsOk,
      countsInBackup: found.countsBefore,
      countsNow,
      tables,
      newerRows: newer.newerRows,
      quarantine,
      objectsMissing,
      warnings,
      errors,
      settings,
      digest: digestOf({
        target: t.name,
        databaseName,
        resetRunId: found.resetRunId,
        files: backup.files.map((f) => f.sha256),
        tables: tables.map((x) => `${x.database}/${x.table}`),
      }),
      createdAt: new Date().toISOString(),
    };
  });
}

/**
 * What the quarantine holds for the reset run (S3 copies and Disk files), and how many purged files
 * cannot come back: from the purge's progress record, per service, those it removed without a
 * quarantine, those missing before the reset, and those the quarantine no longer holds.
 */
async function storageToRestore(
  t: ResolvedTarget,
  resetRunId: string | undefined,
  warnings: string[],
): Promise<Pick<RestorePlan, 'quarantine' | 'objectsMissing'>> {
  const storage = t.config.storage;
  if (!storage || !resetRunId) return {};
  const q = storage.quarantine;
  let record: Awaited<ReturnType<typeof readPurgeProgress>>;
  try {
    record = await readPurgeProgress(backupStoreFor(t.config.backup, t.s3), t.name, resetRunId);
  } catch (err) {
    warnings.push((err as Error).message);
  }
  let objects = 0;
  let bytes = 0;
  let missing = 0;
  const folders: string[] = [];
  for (const [name, svc] of Object.entries(storage.services)) {
    let found = 0;
    if (q && svc.kind === 'disk') {
      const dir = diskQuarantineDir(svc.root, q, resetRunId);
      const c = await countFiles(dir);
      folders.push(dir);
      found = c.files;
      bytes += c.bytes;
    } else if (q && svc.kind !== 'disk') {
      for await (const page of listUnder(t.s3(svc), q.bucket!, quarantineRunPrefix(q, resetRunId, name))) {
        found += page.length;
        bytes += page.reduce((a, o) => a + o.size, 0);
      }
    }
    objects += found;
    const r = record?.services[name];
    if (r) {
      const removed = r.deleted + r.alreadyGone;
      missing += r.missing + (r.quarantined && q ? Math.max(0, removed - found) : removed);
    }
  }
  const gone = missing
    ? `: ${missing} file(s) the reset's purge removed are gone for good, and their restored blob rows will point at missing files`
    : '';
  if (!q) warnings.push(`storage.quarantine is not configured: the objects the reset purged cannot come back${gone}`);
  else if (missing)
    warnings.push(
      `${missing} purged file(s) cannot come back (missing before the reset, or no longer in the quarantine); their restored blob rows will point at missing files`,
    );
  if (!record)
    warnings.push(
      `no purge progress record for reset run ${resetRunId}: the plan cannot tell how many purged files are missing`,
    );
  return {
    quarantine: q
      ? {
          bucket: q.bucket ?? '',
          prefix: quarantineRunPrefix(q, resetRunId),
          objects,
          bytes,
          ...(folders.length ? { folders } : {}),
        }
      : undefined,
    objectsMissing: record ? missing : undefined,
  };
}
