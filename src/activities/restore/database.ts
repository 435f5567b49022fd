/** The restore step: one transaction per database, TRUNCATE the reset's tables and load the backup's rows and sequences. */
import { ApplicationFailure } from '@temporalio/common';
import type { BackupFile, BackupRecord } from '../../workflows/definitions';
import { verifiedLocalCopy, type LocalArchive } from '../lib/backup-source';
import { crashPoint } from '../lib/faults';
import { withKeepalive } from '../lib/keepalive';
import { countRows, withClient } from '../lib/postgres';
import { decideTables } from '../lib/tables';
import { databaseByName, resolveTarget, type ActivityDeps } from '../lib/target';
import { restoreInOneTransaction, refreshViews } from './load';
import { compareCounts, QUEUE_TABLE } from './verify';

export async function restoreDatabase(
  deps: ActivityDeps,
  args: { target: string; backup: BackupRecord; expected?: Record<string, number> },
): Promise<{ tables: number; rows: number; mismatches: string[]; queueDrift: string[] }> {
  const t = resolveTarget(deps, args.target);
  return withKeepalive(async (beat) => {
    // Checked again here, not only at the plan: hours may pass before the approval. Every file before
    // any is loaded, and pg_restore reads the very bytes that were checked (an S3 object's local copy).
    const archives = new Map<BackupFile, LocalArchive>();
    let tables = 0;
    let rows = 0;
    try {
      for (const f of args.backup.files) archives.set(f, await verifiedLocalCopy(t, f, (n) => beat({ unit: 'bytes', done: n, total: f.bytes })));
      // Extra databases first, the primary last, as the reset does.
      const files = [...args.backup.files].sort((a, b) => Number(a.database === 'primary') - Number(b.database === 'primary'));
      for (const f of files) {
        const db = databaseByName(t, f.database);
        const d = await withClient(db, (c) => decideTables(c, db));
        if (d.errors.length) throw ApplicationFailure.nonRetryable(`Restore refused; nothing was touched: ${d.errors.join('; ')}`, 'RestoreRefused');
        await restoreInOneTransaction(t, db, archives.get(f)!, d, (n) => beat({ unit: 'bytes', done: n }));
        await refreshViews(db, d);
        tables += d.truncate.length;
        rows += await withClient(db, async (c) => {
          let n = 0;
          for (const tb of d.truncate) n += await countRows(c, tb);
          return n;
        });
      }
    } finally {
      for (const a of archives.values()) a.release();
    }
    // Counted now, before the workers start: from then on Solid Queue's own tables change by themselves.
    const all = await compareCounts(t, args.expected ?? {});
    // The reference is the reset's count, taken after the workers stopped; the backup was taken while
    // they ran, so Solid Queue's own tables may differ by the jobs they moved in between (measured on
    // the large demo: 6,254 ready executions in the backup, 6,227 at the TRUNCATE). The backup's rows
    // are what was restored; that drift is said, not failed on. Application tables must match.
    const queueDrift = all.filter((m) => QUEUE_TABLE.test(m.split(':')[0]));
    const mismatches = all.filter((m) => !queueDrift.includes(m));
    crashPoint('restore.done');
    return { tables, rows, mismatches, queueDrift };
  });
}
