/**
 * Rows written after the reset: a restore replaces every truncated table with the backup's rows, so
 * whatever the application wrote since the reset is discarded. The plan lists them and the restore
 * refuses unless the operator accepts it (`--discard-newer-rows`, input `discardNewerRows`).
 *
 * "After the reset" is counted against the journal's countsAfter: the counts when the reset step last
 * ended, seeds finished or not, so a failed seed's own rows are not mistaken for newer data. Solid
 * Queue's tables are the queue's state, rewritten by the workers all the time: said, never refused on.
 */
import type { RestorePlan } from '../../contract';
import type { RestorePoint } from './find-run';
import { QUEUE_TABLE } from './verify';

const BLOBS = /\.active_storage_blobs$/;

export interface NewerRowsCheck {
  newerRows: NonNullable<RestorePlan['newerRows']>;
  warnings: string[];
  errors: string[];
}

export function checkNewerRows(point: RestorePoint, tables: RestorePlan['tables'], discard: boolean): NewerRowsCheck {
  const out: NewerRowsCheck = { newerRows: [], warnings: [], errors: [] };
  const after = point.countsAfter;
  if (!after) {
    const now = tables.reduce((a, t) => a + t.rowsNow, 0);
    if (now > 0)
      out.warnings.push(
        `reset run ${point.resetRunId} recorded no counts after its seeds (it did not get that far): the ${now} rows now in the tables it truncated are its partial seeds or later writes, and the restore replaces them`,
      );
    return out;
  }
  for (const t of tables) {
    const k = `${t.database}/${t.table}`;
    const base = after[k] ?? 0;
    if (t.rowsNow > base)
      out.newerRows.push({
        database: t.database,
        table: t.table,
        rowsNow: t.rowsNow,
        rowsAfterReset: base,
        queue: QUEUE_TABLE.test(k),
      });
  }
  const app = out.newerRows.filter((r) => !r.queue);
  if (!app.length) return out;
  const list = app
    .map(
      (r) =>
        `${r.database}/${r.table} (${r.rowsNow - r.rowsAfterReset} newer: ${r.rowsNow} now, ${r.rowsAfterReset} after the reset)`,
    )
    .join(', ');
  const blobs = app.find((r) => BLOBS.test(r.table));
  const files = blobs
    ? `; the files of the ${blobs.rowsNow - blobs.rowsAfterReset} blob(s) uploaded since stay in storage, referenced by no row`
    : '';
  if (discard) out.warnings.push(`rows written after the reset are DISCARDED (--discard-newer-rows): ${list}${files}`);
  else
    out.errors.push(
      `tables hold rows written after the reset, which a restore would discard: ${list}${files}. Export what must be kept, then restore again with --discard-newer-rows (input "discardNewerRows": true)`,
    );
  return out;
}
