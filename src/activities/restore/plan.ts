/** The restore plan: which backup, its checksum, the counts it holds, and what the database holds now. Changes nothing. */
import { Context } from '@temporalio/activity';
import type { RestorePlan } from '../../workflows/definitions';
import { assertChecksum } from '../lib/backup-source';
import { digestOf } from '../lib/digest';
import { withKeepalive } from '../lib/keepalive';
import { countRows, qualified, withClient } from '../lib/postgres';
import { quarantineRunPrefix } from '../lib/quarantine';
import { listUnder } from '../lib/s3';
import { queueState } from '../lib/solid-queue';
import { workerSettings } from '../lib/run-settings';
import { DEFAULTS } from '../../config/defaults';
import { decideTables } from '../lib/tables';
import { databaseByName, resolveTarget, type ActivityDeps } from '../lib/target';
import { findResetRun, type RestorePlanArgs } from './find-run';

export async function planRestore(deps: ActivityDeps, args: RestorePlanArgs): Promise<RestorePlan> {
  const t = resolveTarget(deps, args.target);
  return withKeepalive(async (beat) => {
    const errors: string[] = [];
    const warnings: string[] = [];
    const found = await findResetRun(Context.current().client, t.name, args);
    const backup = found.backup;
    let checksumsOk = true;
    let done = 0;
    for (const f of backup.files) {
      try {
        await assertChecksum(t, f, (n) => beat({ unit: 'bytes', done: done + n, total: backup.files.reduce((a, x) => a + x.bytes, 0) }));
      } catch (err) {
        checksumsOk = false;
        errors.push((err as Error).message);
      }
      done += f.bytes;
    }
    for (const f of backup.files) if (!t.databases.some((d) => d.name === f.database)) errors.push(`the backup holds database "${f.database}", which target "${t.name}" no longer has`);
    if (!found.countsBefore) errors.push(`reset run ${found.resetRunId} recorded no counts before a TRUNCATE (it did not reach it): there is nothing to undo`);

    let databaseName = '';
    const countsNow: Record<string, number> = {};
    const tables: RestorePlan['tables'] = [];
    for (const db of t.databases) {
      await withClient(db, async (c) => {
        if (db.name === 'primary') databaseName = (await c.query(`SELECT current_database() AS n`)).rows[0].n;
        const d = await decideTables(c, db);
        errors.push(...d.errors);
        for (const tb of [...d.truncate, ...d.keep]) countsNow[`${db.name}/${qualified(tb)}`] = await countRows(c, tb);
        for (const tb of d.truncate) {
          const k = `${db.name}/${qualified(tb)}`;
          tables.push({ database: db.name, table: qualified(tb), rowsNow: countsNow[k], rowsInBackup: found.countsBefore?.[k] });
        }
      });
    }
    for (const k of Object.keys(found.countsBefore ?? {})) if (!(k in countsNow)) errors.push(`table ${k} is in the backup's counts but not in the database now`);

    let quarantine: RestorePlan['quarantine'];
    const q = t.config.storage?.quarantine;
    if (q && found.resetRunId) {
      let objects = 0;
      let bytes = 0;
      for (const [name, svc] of Object.entries(t.config.storage!.services)) {
        if (svc.kind !== 's3') continue;
        for await (const page of listUnder(t.s3(svc), q.bucket, quarantineRunPrefix(q, found.resetRunId, name))) {
          objects += page.length;
          bytes += page.reduce((a, o) => a + o.size, 0);
        }
      }
      quarantine = { bucket: q.bucket, prefix: quarantineRunPrefix(q, found.resetRunId), objects, bytes };
    } else if (t.config.storage) {
      warnings.push('storage.quarantine is not configured: the objects the reset purged cannot come back');
    }

    let workersAlive = 0;
    const w = t.config.workers;
    if (w) workersAlive = await withClient(databaseByName(t, w.database), async (c) => (await queueState(c, w.heartbeatThresholdSeconds)).alive);
    const cfg = t.config;
    const settings = {
      heartbeatTimeoutSeconds: cfg.timing.heartbeatTimeoutSeconds,
      maximumAttempts: cfg.timing.maximumAttempts,
      approvalRequired: true,
      approvalTimeout: cfg.approval.timeout,
      workersConfigured: Boolean(w),
      storageConfigured: Boolean(cfg.storage),
      ...workerSettings(w),
      startWorkersAtEnd: workersAlive > 0 || (w?.whenNoneAliveBefore ?? DEFAULTS.workers.whenNoneAliveBefore) === 'start',
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
      quarantine,
      warnings,
      errors,
      settings,
      digest: digestOf({ target: t.name, databaseName, resetRunId: found.resetRunId, files: backup.files.map((f) => f.sha256), tables: tables.map((x) => `${x.database}/${x.table}`) }),
      createdAt: new Date().toISOString(),
    };
  });
}
