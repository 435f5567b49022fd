/** The runbook's one-line summaries of its plan and its purge, as the Web UI and `follow` show them. */
import type { Plan } from '../contract';
import { DEFAULTS } from '../config/defaults';

export function planSummary(p: Plan): string {
  const truncate = p.tables.filter((t) => t.action === 'truncate');
  const rows = truncate.reduce((a, t) => a + t.rows, 0);
  const restart = p.settings.workersConfigured
    ? `, workers restarted within ${p.settings.restartBudgetSeconds ?? DEFAULTS.workers.restartBudgetSeconds} s if the run fails${p.settings.startWorkersBeforePurge ? ', started again before the purge' : ''}`
    : '';
  // "≈": some counts are pg_class estimates (large tables; plan.exactCounts or --exact-counts counts them).
  const approx = truncate.some((t) => t.estimated) ? '≈' : '';
  const sample = p.objectsToDelete.sample;
  const found = sample && sample.checked > 0 ? ` (${sample.present} of ${sample.checked} sampled found)` : '';
  // The Web UI shows this line: whether the reset can be undone belongs there too (plans recorded before it have no
  // undo).
  const undo = p.undo ? `; undo: ${p.undo.summary}` : '';
  return `${truncate.length} tables to truncate (${approx}${rows} rows), ${p.tables.length - truncate.length} kept, ${p.objectsToDelete.count} objects to delete${found}, ${p.workersAlive} workers alive${restart}${undo}${p.errors.length ? `; ${p.errors.length} error(s)` : ''}`;
}

/** The purge step's line: what went, what an earlier attempt had already removed, what was never there. */
export function purgeDetail(p: {
  deleted: number;
  variants?: number;
  bytes: number;
  alreadyGone?: number;
  missing?: number;
  missingSample?: string[];
}): string {
  const gone = p.alreadyGone ? `; ${p.alreadyGone} already gone (removed by an earlier attempt)` : '';
  const missing = p.missing
    ? `; ${p.missing} missing before the reset (blob rows without a file), e.g. ${(p.missingSample ?? []).join(', ')}`
    : '';
  // The plan counted blobs only: the variants say why more went than it announced.
  const variants = p.variants ? ` (${p.variants} of them untracked variants)` : '';
  return `${p.deleted} objects${variants}, ${p.bytes} bytes deleted${gone}${missing}`;
}
