/**
 * The restore step: one transaction per database, TRUNCATE the reset's tables and load the backup's rows and sequences.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { BackupFile, BackupRecord } from '../../contract';
import { updateJournal } from '../journal';
import { verifiedLocalCopy, type LocalArchive } from '../lib/backup-source';
import { crashPoint } from '../lib/faults';
import { withKeepalive } from '../lib/keepalive';
import { countRowsOf, qualified, withClient } from '../lib/postgres';
import { decideTables } from '../lib/tables';
import { databaseByName, resolveTarget, type ActivityDeps } from '../lib/target';
import { restoreInOneTransaction, refreshViews } from './load';
import { isLiveQueueTable, LIVE_QUEUE_TABLES, ownRows } from './relations';
import { QUEUE_TABLE } from './verify';

export interface RestoreDatabaseResult {
  tables: number;
  rows: number;
  /** Tables whose count right after the COMMIT is not what the transaction checked in (something wrote since). */
  mismatches: string[];
  /**
   * Solid Queue tables whose backup count differs from the reset's count (jobs run between the backup and the
   * TRUNCATE).
   */
  queueDrift: string[];
  /** Application tables likewise: rows written between the backup and the TRUNCATE, which no backup holds. */
  drift: string[];
  /** Every restored table's rows, `<database>/<schema.table>`: what the verify step expects. */
  counts: Record<string, number>;
  /** Jobs claimed when the backup was taken, put back as ready. */
  requeued: number;
}

export async function restoreDatabase(
  deps: ActivityDeps,
  args: { target: string; backup: BackupRecord; expected?: Record<string, number>; resetRunId?: string },
): Promise<RestoreDatabaseResult> {
  const t = resolveTarget(deps, args.target);
  return withKeepalive(async (beat) => {
    // Checked again here, not only at the plan: hours may pass before the approval. Every file before
    // any is loaded, and pg_restore reads the very bytes that were checked (an S3 object's local copy).
    const archives = new Map<BackupFile, LocalArchive>();
    let tables = 0;
    let rows = 0;
    let requeued = 0;
    const counts: Record<string, number> = {};
    const mismatches: string[] = [];
    try {
      for (const f of args.backup.files)
        archives.set(f, await verifiedLocalCopy(t, f, (n) => beat({ unit: 'bytes', done: n, total: f.bytes })));
      // Extra databases first, the primary last, as the reset does.
      const files = [...args.backup.files].sort(
        (a, b) => Number(a.database === 'primary') - Number(b.database === 'primary'),
      );
      for (const f of files) {
        const db = databaseByName(t, f.database);
        const d = await withClient(db, (c) => decideTables(c, db));
        if (d.errors.length)
          throw ApplicationFailure.nonRetryable(
            `Restore refused; nothing was touched: ${d.errors.join('; ')}`,
            'RestoreRefused',
          );
        const loaded = await restoreInOneTransaction(t, db, archives.get(f)!, d, (n) =>
          beat({ unit: 'bytes', done: n }),
        );
        requeued += loaded.requeued;
        await refreshViews(db, d);
        const restored = d.truncate.filter((x) => !isLiveQueueTable(x));
        tables += restored.length;
        // Counted now, before the workers start: from then on Solid Queue's own tables change by themselves.
        await withClient(db, async (c) => {
          const restoredCounts = await countRowsOf(c, restored);
          for (const [i, tb] of restored.entries()) {
            const n = restoredCounts[i];
            const k = `${db.name}/${qualified(tb)}`;
            counts[k] = n;
            rows += n;
            // The transaction checked each table's own rows against the stream; a ready queue also got the requeued
            // claims.
            const want =
              (loaded.rows[qualified(tb)] ?? 0) + (tb.table === 'solid_queue_ready_executions' ? loaded.requeued : 0);
            const own = await ownRows(c, tb);
            if (own !== want)
              mismatches.push(
                `${k}: ${own}, the backup held ${want} and the restore's transaction had them before its COMMIT`,
              );
          }
        });
      }
    } finally {
      for (const a of archives.values()) a.release();
    }
    // The reset's count was taken at its TRUNCATE, the backup earlier, while the application (and its
    // workers) still ran: measured on the large demo, 6,254 ready executions in the backup and 6,227 at
    // the TRUNCATE. The backup's rows are what a restore can give back; the difference is reported.
    const drift: string[] = [];
    for (const [k, before] of Object.entries(args.expected ?? {})) {
      if (LIVE_QUEUE_TABLES.some((x) => k.endsWith(`.${x}`)) || !(k in counts) || counts[k] === before) continue;
      drift.push(`${k}: ${counts[k]} from the backup, ${before} at the reset's TRUNCATE`);
    }
    const queueDrift = drift.filter((m) => QUEUE_TABLE.test(m.split(':')[0]));
    // The reset is undone: a later `restore` without --run says so instead of restoring it again unasked.
    const by = Context.current().info.workflowExecution;
    if (args.resetRunId && by)
      await updateJournal(t, args.resetRunId, {
        restoredBy: { workflowId: by.workflowId, runId: by.runId, at: new Date().toISOString() },
      });
    crashPoint('restore.done');
    return {
      tables,
      rows,
      mismatches,
      queueDrift,
      drift: drift.filter((m) => !queueDrift.includes(m)),
      counts,
      requeued,
    };
  });
}
