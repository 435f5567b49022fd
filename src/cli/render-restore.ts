/** A restore's plan and result: a restore's result reaches the same views as a reset's. */
import { type ResetResult, type RestorePlan, type RestoreResult, formatBytes } from '../contract';
import { formatCount } from './format';
import { approvalEndLines } from './render-approvals';
import { table } from './render';
import { PLAIN, Style } from './style';
import type { LeftStopped } from './snapshot-model';
import { leftStopped, STILL_STOPPED_PREFIX, stillStoppedLine, workersEndLine } from './workers-view';

/**
 * Whether a run's result is a restore's (it has no `mode`, which every reset result has), to render it
 * as one, including a restore whose plan failed (no plan, nothing restored: e.g. an unknown target).
 */
export function isRestoreResult(r: unknown): r is RestoreResult {
  const x = r as Partial<RestoreResult> & { mode?: string };
  if (typeof x !== 'object' || x === null || x.mode !== undefined) return false;
  return (
    x.restored !== undefined ||
    (x.plan !== undefined && 'countsNow' in (x.plan as object)) ||
    (typeof x.target === 'string' && typeof x.outcome === 'string')
  );
}

export function renderRestorePlan(p: RestorePlan, style: Style = PLAIN): string {
  const out = [
    style.bold(`Restore of "${p.target}" (database ${p.databaseName}) from reset run ${p.resetRunId ?? '?'}`),
  ];
  for (const f of p.backup.files)
    out.push(
      `  backup (${f.database}): ${f.path} (${formatBytes(f.bytes)}, sha256 ${f.sha256.slice(0, 16)}…), taken ${p.backup.createdAt}, ${p.backupAgeMinutes} min ago; checksum ${p.checksumsOk ? 'matches the record' : style.red('DOES NOT MATCH')}`,
    );
  out.push(
    table(
      ['database', 'table', 'in backup', 'now'],
      p.tables.map((t) => [
        t.database,
        t.table,
        t.rowsInBackup === undefined ? '?' : String(t.rowsInBackup),
        String(t.rowsNow),
      ]),
      { align: ['left', 'left', 'right', 'right'] },
    ),
  );
  const newer = p.newerRows ?? [];
  if (newer.length) {
    out.push(style.bold('  rows written after the reset (the restore discards them):'));
    out.push(
      table(
        ['database', 'table', 'after the reset', 'now', 'discarded'],
        newer.map((r) => [
          r.database,
          r.table + (r.queue ? ' (queue state)' : ''),
          String(r.rowsAfterReset),
          String(r.rowsNow),
          String(r.rowsNow - r.rowsAfterReset),
        ]),
        { align: ['left', 'left', 'right', 'right', 'right'] },
      ),
    );
  }
  if (p.quarantine) {
    const from = [
      ...(p.quarantine.bucket ? [`${p.quarantine.bucket}/${p.quarantine.prefix}`] : []),
      ...(p.quarantine.folders ?? []),
    ].join(', ');
    out.push(
      `  quarantined objects to bring back: ${p.quarantine.objects} (${formatBytes(p.quarantine.bytes)}) from ${from}`,
    );
  }
  if (p.objectsMissing)
    out.push(
      style.red(
        `  purged files that cannot come back: ${formatCount(p.objectsMissing)} (their restored blob rows will point at missing files)`,
      ),
    );
  for (const w of p.warnings) out.push(`  ${style.yellow('!')} ${w}`);
  for (const e of p.errors) out.push(`  ${style.red('✖')} ${e}`);
  return out.join('\n');
}

export function renderRestoreResult(r: RestoreResult, style: Style, failure?: string, known?: LeftStopped): string {
  const stopped = known ?? leftStopped({ result: r as unknown as ResetResult, failure });
  const ok = !stopped && r.outcome === 'completed';
  const head = `Restore of "${r.target}": ${r.outcome}${r.endReason && r.endReason !== r.outcome ? ` (${r.endReason})` : ''}`;
  const out = [ok ? style.green(style.bold(head)) : style.red(style.bold(head))];
  if (stopped) out.push(style.red(style.bold(`  ${stillStoppedLine(stopped)}`)));
  else if (r.workers) out.push(`  ${workersEndLine(r.workers)}`);
  if (r.message && !(stopped && r.message.startsWith(STILL_STOPPED_PREFIX))) out.push(`  ${r.message}`);
  out.push(...approvalEndLines(r));
  for (const f of r.plan?.backup.files ?? []) out.push(`  backup (${f.database}): ${f.path}`);
  // The plan's warnings again at the end: on the --confirm path nobody saw the plan.
  for (const w of r.plan?.warnings ?? []) out.push(`  ${style.yellow('!')} ${w}`);
  const discarded = (r.plan?.newerRows ?? []).filter((n) => !n.queue);
  if (discarded.length && r.restored)
    out.push(
      style.yellow(
        `  discarded: ${discarded.map((n) => `${n.rowsNow - n.rowsAfterReset} newer row(s) of ${n.database}/${n.table}`).join(', ')}`,
      ),
    );
  if (r.restored) out.push(`  restored: ${formatCount(r.restored.rows)} rows in ${r.restored.tables} tables`);
  if (r.objectsRestored)
    out.push(
      `  storage: ${formatCount(r.objectsRestored.count)} objects brought back (${formatBytes(r.objectsRestored.bytes)})`,
    );
  if (r.objectsMissing)
    out.push(
      style.red(
        `  storage: ${formatCount(r.objectsMissing)} purged file(s) did not come back: their blob rows point at missing files`,
      ),
    );
  if (r.verify)
    out.push(
      `  verify: ${r.verify.ok ? style.green("every table holds the backup's count") : style.red(r.verify.mismatches.join('; '))}`,
    );
  return out.join('\n');
}
