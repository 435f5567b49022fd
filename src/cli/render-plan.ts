/** The plan a reset would carry out, as the operator reads it before approving. */
import { type Plan, type UndoPlan, formatBytes } from '../contract';
import { formatCount, formatTime } from './format';
import { table } from './render';
import { PLAIN, Style } from './style';

export function renderPlan(plan: Plan, style: Style = PLAIN): string {
  const out: string[] = [];
  const kv = (k: string, v: string) => out.push(`  ${(k + ':').padEnd(20)} ${v}`);
  out.push(
    style.bold(`Plan for target "${plan.target}"`) +
      style.dim(`  (digest ${plan.digest.slice(0, 12)}, ${formatTime(plan.createdAt)})`),
  );
  kv('database', plan.databaseName + (plan.environment ? `  (environment: ${plan.environment})` : ''));
  kv('strategy', plan.strategy + (plan.highRisk ? style.red('  HIGH RISK: drops and rebuilds the schema') : ''));
  kv('server', `PostgreSQL ${plan.serverVersion}, pg_dump ${plan.pgDumpVersion}`);
  kv('database size', formatBytes(plan.databaseBytes));
  kv(
    'backup dir free',
    plan.backupDirFreeBytes < 0 ? 'n/a (S3 backup destination)' : formatBytes(plan.backupDirFreeBytes),
  );

  const dropped = plan.tables
    .filter((t) => t.action === 'truncate')
    .sort((a, b) => b.rows - a.rows || a.table.localeCompare(b.table));
  const kept = plan.tables.filter((t) => t.action === 'keep').sort((a, b) => a.table.localeCompare(b.table));
  const multiDb = new Set(plan.tables.map((t) => t.database)).size > 1;
  const name = (t: { database: string; schema: string; table: string }) =>
    `${multiDb ? t.database + ':' : ''}${t.schema === 'public' ? '' : t.schema + '.'}${t.table}`;
  const droppedRows = dropped.reduce((n, t) => n + t.rows, 0);
  // "≈": pg_class.reltuples, not a count (tables at or over plan.estimateAboveRows; --exact-counts counts them).
  const rows = (t: { rows: number; estimated?: boolean }) => `${t.estimated ? '≈' : ''}${formatCount(t.rows)}`;
  const approx = dropped.some((t) => t.estimated) ? '≈' : '';

  out.push(
    '',
    style.bold(`Tables emptied (${dropped.length} tables, ${approx}${formatCount(droppedRows)} rows dropped)`),
  );
  out.push(
    dropped.length
      ? table(
          ['table', 'rows'],
          dropped.map((t) => [name(t), rows(t)]),
          { align: ['left', 'right'] },
        )
      : '  (none)',
  );
  out.push('', style.bold(`Tables kept (${kept.length})`));
  out.push(
    kept.length
      ? table(
          ['table', 'rows'],
          kept.map((t) => [name(t), rows(t)]),
          { align: ['left', 'right'] },
        )
      : '  (none)',
  );
  if (plan.tables.some((t) => t.estimated))
    out.push(style.dim('  ≈ estimated from pg_class (the table is large); `--exact-counts` counts every row'));

  out.push('', style.bold('Storage'));
  kv('blobs in database', `${formatCount(plan.blobs.count)} (${formatBytes(plan.blobs.bytes)})`);
  kv(
    'objects to delete',
    `${formatCount(plan.objectsToDelete.count)} (${formatBytes(plan.objectsToDelete.bytes)})  the dropped blobs' files (untracked variants, which have no row, come on top)`,
  );
  const sample = plan.objectsToDelete.sample;
  if (sample)
    kv(
      'sampled in storage',
      sample.checked ? `${formatCount(sample.present)} of ${formatCount(sample.checked)} found` : 'none checked',
    );

  // What a restore can bring back, before the approval: what cannot is said in red.
  if (plan.undo) out.push('', undoLine(plan.undo, style));

  out.push('', style.bold('Solid Queue workers'));
  kv('workers alive', formatCount(plan.workersAlive));
  kv('claimed executions', formatCount(plan.claimedExecutions));
  const s = plan.settings;
  if (s?.workersConfigured) {
    kv(
      'after the reset',
      s.startWorkersAtEnd === false
        ? 'left stopped, as they were (workers.whenNoneAliveBefore "leave")'
        : s.startWorkersBeforePurge
          ? 'started again right after the seeds, before the purge (step 5 before step 4: workers.startBeforePurge)'
          : 'started again (step 5)',
    );
    if (s.restartBudgetSeconds !== undefined)
      kv(
        'if the run fails',
        `started again within ${s.restartBudgetSeconds} s (workers.restartBudgetSeconds), else it says WORKERS ARE STILL STOPPED`,
      );
  } else if (s) kv('managed', 'no (no workers configured for this target)');

  out.push('', style.bold(`Warnings (${plan.warnings.length})`));
  out.push(plan.warnings.length ? plan.warnings.map((w) => `  ${style.yellow('!')} ${w}`).join('\n') : '  (none)');
  if (plan.errors.length) {
    out.push('', style.red(style.bold(`Errors (${plan.errors.length}): a reset would stop here`)));
    out.push(plan.errors.map((e) => `  ${style.red('✖')} ${e}`).join('\n'));
  }
  return out.join('\n');
}

/** "undo: tables and files can come back (quarantine kept 30 days)", or what cannot come back. */
export function undoLine(undo: UndoPlan, style: Style = PLAIN): string {
  return `${style.bold('undo:')} ${undo.files === 'not-quarantined' ? style.red(undo.summary) : undo.summary}`;
}
