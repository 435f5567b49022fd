/**
 * Renderers: pure functions from the contract's shapes (Plan, Progress, ResetResult, heartbeat
 * progress) to text. No I/O here, so they are unit-tested without a server.
 */
import { backupProof, type HeartbeatProgress, type Plan, type ResetResult, type RestorePlan, type RestoreResult, type StepState, type UndoPlan, type WorkersState, formatBytes } from '../contract';
import { formatCount, formatDuration, formatRate, formatTime, formatUnit, padVisible, truncate, visibleLength } from './format';
import { PLAIN, Style } from './style';
import type { ActivityView } from './history';
import type { RunSummary, Snapshot } from './snapshot';
import { leftStopped, LeftStopped, STILL_STOPPED_PREFIX, restartLine, shownOutcome, stillStoppedLine, stoppedByRun, terminatedRestoreHint, workersOf } from './workers-view';

export interface TableOptions {
  align?: ('left' | 'right')[];
  indent?: string;
}

/** A plain text table: a header row, a rule, the rows; columns as wide as their widest cell. */
export function table(headers: string[], rows: string[][], opts: TableOptions = {}): string {
  const indent = opts.indent ?? '  ';
  const widths = headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    indent +
    cells
      .map((c, i) => padVisible(c ?? '', widths[i], opts.align?.[i] ?? 'left'))
      .join('  ')
      .replace(/\s+$/, '');
  return [line(headers), indent + widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface BarInput {
  label: string;
  progress: HeartbeatProgress;
  /** Units per second, if known. */
  rate?: number;
  width?: number;
}

/** `label  [██████░░░░░░]  45%  1.20 GiB / 2.67 GiB  34.1 MiB/s  ETA 42s` */
export function progressBar({ label, progress, rate, width = 30 }: BarInput, style: Style = PLAIN): string {
  const { unit, done, total } = progress;
  const parts = [padVisible(label, 10)];
  if (total !== undefined && total > 0) {
    const frac = Math.max(0, Math.min(1, done / total));
    const filled = Math.round(frac * width);
    parts.push(`[${style.cyan('█'.repeat(filled))}${'░'.repeat(width - filled)}]`);
    parts.push(`${String(Math.floor(frac * 100)).padStart(3)}%`);
    parts.push(`${formatUnit(done, unit)} / ${formatUnit(total, unit)}`);
  } else {
    parts.push(`[${'·'.repeat(width)}]`, '   ?', `${formatUnit(done, unit)}`);
  }
  if (rate !== undefined && rate > 0) {
    parts.push(formatRate(rate, unit));
    if (total !== undefined && total > done) parts.push(`ETA ${formatDuration(((total - done) / rate) * 1000)}`);
  }
  return parts.join('  ');
}

const STATUS_MARK: Record<string, string> = {
  pending: '·',
  running: '▶',
  done: '✔',
  failed: '✖',
  'waiting-for-operator': '⏸',
  skipped: '–',
};

export function stepDurationMs(step: StepState, now: Date): number | undefined {
  if (!step.startedAt) return undefined;
  const start = Date.parse(step.startedAt);
  const end = step.endedAt ? Date.parse(step.endedAt) : now.getTime();
  return end - start;
}

export function renderSteps(steps: StepState[], now: Date, style: Style = PLAIN): string {
  const color = (status: string, s: string) =>
    status === 'done'
      ? style.green(s)
      : status === 'failed'
        ? style.red(s)
        : status === 'waiting-for-operator'
          ? style.yellow(s)
          : status === 'running'
            ? style.cyan(s)
            : status === 'pending' || status === 'skipped'
              ? style.dim(s)
              : s;
  const rows = steps.map((s) => [
    color(s.status, STATUS_MARK[s.status] ?? '?'),
    s.title,
    color(s.status, s.status),
    formatDuration(stepDurationMs(s, now)),
    s.attempts > 1 ? String(s.attempts) : '',
    truncate((s.error ?? s.detail ?? '').replace(/\s+/g, ' '), 70),
  ]);
  return table(['', 'step', 'status', 'duration', 'tries', 'detail'], rows, { align: ['left', 'left', 'left', 'right', 'right', 'left'] });
}

export function renderPlan(plan: Plan, style: Style = PLAIN): string {
  const out: string[] = [];
  const kv = (k: string, v: string) => out.push(`  ${(k + ':').padEnd(20)} ${v}`);
  out.push(style.bold(`Plan for target "${plan.target}"`) + style.dim(`  (digest ${plan.digest.slice(0, 12)}, ${formatTime(plan.createdAt)})`));
  kv('database', plan.databaseName + (plan.environment ? `  (environment: ${plan.environment})` : ''));
  kv('strategy', plan.strategy + (plan.highRisk ? style.red('  HIGH RISK: drops and rebuilds the schema') : ''));
  kv('server', `PostgreSQL ${plan.serverVersion}, pg_dump ${plan.pgDumpVersion}`);
  kv('database size', formatBytes(plan.databaseBytes));
  kv('backup dir free', plan.backupDirFreeBytes < 0 ? 'n/a (S3 backup destination)' : formatBytes(plan.backupDirFreeBytes));

  const dropped = plan.tables.filter((t) => t.action === 'truncate').sort((a, b) => b.rows - a.rows || a.table.localeCompare(b.table));
  const kept = plan.tables.filter((t) => t.action === 'keep').sort((a, b) => a.table.localeCompare(b.table));
  const multiDb = new Set(plan.tables.map((t) => t.database)).size > 1;
  const name = (t: { database: string; schema: string; table: string }) => `${multiDb ? t.database + ':' : ''}${t.schema === 'public' ? '' : t.schema + '.'}${t.table}`;
  const droppedRows = dropped.reduce((n, t) => n + t.rows, 0);
  // "≈": pg_class.reltuples, not a count (tables at or over plan.estimateAboveRows; --exact-counts counts them).
  const rows = (t: { rows: number; estimated?: boolean }) => `${t.estimated ? '≈' : ''}${formatCount(t.rows)}`;
  const approx = dropped.some((t) => t.estimated) ? '≈' : '';

  out.push('', style.bold(`Tables emptied (${dropped.length} tables, ${approx}${formatCount(droppedRows)} rows dropped)`));
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
  if (plan.tables.some((t) => t.estimated)) out.push(style.dim('  ≈ estimated from pg_class (the table is large); `--exact-counts` counts every row'));

  out.push('', style.bold('Storage'));
  kv('blobs in database', `${formatCount(plan.blobs.count)} (${formatBytes(plan.blobs.bytes)})`);
  kv('objects to delete', `${formatCount(plan.objectsToDelete.count)} (${formatBytes(plan.objectsToDelete.bytes)})  the dropped blobs' files (untracked variants, which have no row, come on top)`);
  const sample = plan.objectsToDelete.sample;
  if (sample) kv('sampled in storage', sample.checked ? `${formatCount(sample.present)} of ${formatCount(sample.checked)} found` : 'none checked');

  // What a restore can bring back, before the approval: what cannot is said in red.
  if (plan.undo) out.push('', undoLine(plan.undo, style));

  out.push('', style.bold('Solid Queue workers'));
  kv('workers alive', formatCount(plan.workersAlive));
  kv('claimed executions', formatCount(plan.claimedExecutions));
  const s = plan.settings;
  if (s?.workersConfigured) {
    kv('after the reset', s.startWorkersAtEnd === false ? 'left stopped, as they were (workers.whenNoneAliveBefore "leave")' : 'started again (step 5)');
    if (s.restartBudgetSeconds !== undefined) kv('if the run fails', `started again within ${s.restartBudgetSeconds} s (workers.restartBudgetSeconds), else it says WORKERS ARE STILL STOPPED`);
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

/** `failure`: the closed run's failure message, for runs whose result does not say it all. */
export function renderResult(result: ResetResult, style: Style = PLAIN, failure?: string, known?: LeftStopped): string {
  if (isRestoreResult(result)) return renderRestoreResult(result, style, failure, known);
  const out: string[] = [];
  const stopped = known ?? leftStopped({ result, failure });
  const outcome = shownOutcome(result, stopped);
  const ok = !stopped && (outcome === 'completed' || outcome === 'planned');
  const head = `${result.mode === 'plan' ? 'Plan' : 'Reset'} of "${result.target}": ${outcome}${result.endReason && result.endReason !== outcome ? ` (${result.endReason})` : ''}`;
  out.push(ok ? style.green(style.bold(head)) : style.red(style.bold(head)));
  if (stopped) out.push(style.red(style.bold(`  ${stillStoppedLine(stopped)}`)));
  else if (result.mode === 'execute' && result.workers) out.push(`  ${workersEndLine(result.workers)}`);
  // The run's own message repeats the red line above (in another time format): once is enough.
  if (result.message && !(stopped && result.message.startsWith(STILL_STOPPED_PREFIX))) out.push(`  ${result.message}`);
  else if (failure && stopped && !failure.startsWith(STILL_STOPPED_PREFIX)) out.push(`  ${failure}`);
  if (result.reason) out.push(`  reason: ${result.reason}`);
  for (const f of result.backup?.files ?? []) {
    out.push(`  backup (${f.database}): ${f.path} (${formatBytes(f.bytes)}, sha256 ${f.sha256.slice(0, 16)}…, ${f.tocEntries} entries)`);
  }
  if (result.backup) out.push(`  backup proof: ${backupProof(result.backup)}`);
  const changed = result.plan?.strategy === 'rebuild' ? 'The rebuild command changed the database.' : 'The TRUNCATE committed.';
  if (result.restoreCommand) out.push(style.yellow(`  ${changed} Undo this reset with: ${result.restoreCommand}`));
  if (result.objectsDeleted) {
    out.push(
      `  storage: ${formatCount(result.objectsDeleted.count)} objects deleted (${formatBytes(result.objectsDeleted.bytes)})` +
        (result.objectsDeleted.errors ? style.red(`, ${result.objectsDeleted.errors} errors`) : '') +
        (result.objectsDeleted.alreadyGone ? `, ${formatCount(result.objectsDeleted.alreadyGone)} already gone (removed by an earlier attempt)` : ''),
    );
    const missing = result.objectsDeleted.missing;
    if (missing)
      out.push(style.yellow(`  storage: ${formatCount(missing)} file(s) were missing before the reset (blob rows without a file), e.g. ${(result.objectsDeleted.missingSample ?? []).join(', ')}`));
  }
  if (result.stepDurationsMs) {
    const parts = Object.entries(result.stepDurationsMs).map(([k, v]) => `${k} ${formatDuration(v)}`);
    if (parts.length) out.push(`  durations: ${parts.join(', ')}`);
  }
  if (result.verify) {
    out.push('', style.bold(`Verify: ${result.verify.ok ? 'OK' : 'MISMATCH'}`));
    if (!result.verify.lines.length) out.push('  (no expected counts configured for this target)');
    else
      out.push(
        table(
          ['', 'what', 'expected', 'actual'],
          result.verify.lines.map((l) => [l.ok ? style.green('✔') : style.red('✖'), l.label, l.expected, String(l.actual)]),
          { align: ['left', 'left', 'right', 'right'] },
        ),
      );
    for (const h of result.verify.hints) out.push(`  ${style.yellow('!')} ${h}`);
  }
  if (result.accounts && typeof result.accounts.count === 'number') {
    const roles = Object.entries(result.accounts.roles ?? {});
    out.push('', style.bold(`Accounts after the reset: ${result.accounts.count}`));
    if (roles.length)
      out.push(
        table(
          ['role', 'accounts'],
          roles.map(([r, n]) => [r, String(n)]),
          { align: ['left', 'right'] },
        ),
      );
  }
  return out.join('\n');
}

/** A restore's result (issue 8) reaches the same views as a reset's. */
export function isRestoreResult(r: unknown): r is RestoreResult {
  const x = r as Partial<RestoreResult> & { mode?: string };
  return typeof x === 'object' && x !== null && x.mode === undefined && (x.restored !== undefined || (x.plan !== undefined && 'countsNow' in (x.plan as object)));
}

export function renderRestorePlan(p: RestorePlan, style: Style = PLAIN): string {
  const out = [style.bold(`Restore of "${p.target}" (database ${p.databaseName}) from reset run ${p.resetRunId ?? '?'}`)];
  for (const f of p.backup.files)
    out.push(
      `  backup (${f.database}): ${f.path} (${formatBytes(f.bytes)}, sha256 ${f.sha256.slice(0, 16)}…), taken ${p.backup.createdAt}, ${p.backupAgeMinutes} min ago; checksum ${p.checksumsOk ? 'matches the record' : style.red('DOES NOT MATCH')}`,
    );
  out.push(
    table(
      ['database', 'table', 'in backup', 'now'],
      p.tables.map((t) => [t.database, t.table, t.rowsInBackup === undefined ? '?' : String(t.rowsInBackup), String(t.rowsNow)]),
      { align: ['left', 'left', 'right', 'right'] },
    ),
  );
  const newer = p.newerRows ?? [];
  if (newer.length) {
    out.push(style.bold('  rows written after the reset (the restore discards them):'));
    out.push(
      table(
        ['database', 'table', 'after the reset', 'now', 'discarded'],
        newer.map((r) => [r.database, r.table + (r.queue ? ' (queue state)' : ''), String(r.rowsAfterReset), String(r.rowsNow), String(r.rowsNow - r.rowsAfterReset)]),
        { align: ['left', 'left', 'right', 'right', 'right'] },
      ),
    );
  }
  if (p.quarantine) {
    const from = [...(p.quarantine.bucket ? [`${p.quarantine.bucket}/${p.quarantine.prefix}`] : []), ...(p.quarantine.folders ?? [])].join(', ');
    out.push(`  quarantined objects to bring back: ${p.quarantine.objects} (${formatBytes(p.quarantine.bytes)}) from ${from}`);
  }
  if (p.objectsMissing) out.push(style.red(`  purged files that cannot come back: ${formatCount(p.objectsMissing)} (their restored blob rows will point at missing files)`));
  for (const w of p.warnings) out.push(`  ${style.yellow('!')} ${w}`);
  for (const e of p.errors) out.push(`  ${style.red('✖')} ${e}`);
  return out.join('\n');
}

function renderRestoreResult(r: RestoreResult, style: Style, failure?: string, known?: LeftStopped): string {
  const stopped = known ?? leftStopped({ result: r as unknown as ResetResult, failure });
  const ok = !stopped && r.outcome === 'completed';
  const head = `Restore of "${r.target}": ${r.outcome}${r.endReason && r.endReason !== r.outcome ? ` (${r.endReason})` : ''}`;
  const out = [ok ? style.green(style.bold(head)) : style.red(style.bold(head))];
  if (stopped) out.push(style.red(style.bold(`  ${stillStoppedLine(stopped)}`)));
  else if (r.workers) out.push(`  ${workersEndLine(r.workers)}`);
  if (r.message && !(stopped && r.message.startsWith(STILL_STOPPED_PREFIX))) out.push(`  ${r.message}`);
  for (const f of r.plan?.backup.files ?? []) out.push(`  backup (${f.database}): ${f.path}`);
  // The plan's warnings again at the end: on the --confirm path nobody saw the plan.
  for (const w of r.plan?.warnings ?? []) out.push(`  ${style.yellow('!')} ${w}`);
  const discarded = (r.plan?.newerRows ?? []).filter((n) => !n.queue);
  if (discarded.length && r.restored) out.push(style.yellow(`  discarded: ${discarded.map((n) => `${n.rowsNow - n.rowsAfterReset} newer row(s) of ${n.database}/${n.table}`).join(', ')}`));
  if (r.restored) out.push(`  restored: ${formatCount(r.restored.rows)} rows in ${r.restored.tables} tables`);
  if (r.objectsRestored) out.push(`  storage: ${formatCount(r.objectsRestored.count)} objects brought back (${formatBytes(r.objectsRestored.bytes)})`);
  if (r.objectsMissing) out.push(style.red(`  storage: ${formatCount(r.objectsMissing)} purged file(s) did not come back: their blob rows point at missing files`));
  if (r.verify) out.push(`  verify: ${r.verify.ok ? style.green("every table holds the backup's count") : style.red(r.verify.mismatches.join('; '))}`);
  return out.join('\n');
}

export function activityLabel(a: ActivityView): string {
  const unit = a.progress?.unit;
  if (unit === 'bytes') return 'backup';
  if (unit === 'objects') return 'purge';
  if (unit === 'tables') return 'tables';
  if (unit === 'processes') return 'workers';
  return a.type;
}

export interface ViewOptions {
  now: Date;
  /** Rates (units/s) by activity id. */
  rates?: Record<string, number | undefined>;
  style?: Style;
}

/** The live view `follow` redraws: header, steps, progress bars, and the pause with its reason. */
export function renderView(snap: Snapshot, { now, rates = {}, style = PLAIN }: ViewOptions): string {
  const out: string[] = [];
  const p = snap.progress;
  const elapsed = (snap.closeTime ? Date.parse(snap.closeTime) : now.getTime()) - Date.parse(snap.startTime);
  const h = snap.history;
  const stopped = leftStopped(snap);
  // A closed run shows only a final phase: one left at "compensating" by an older run would mislead.
  const rawPhase = p?.phase ?? (h && h.phase !== 'ended' ? h.phase : undefined);
  const phase = snap.status === 'RUNNING' || ['completed', 'failed', 'aborted', 'cancelled'].includes(rawPhase ?? '') ? rawPhase : undefined;
  const mode = p?.mode ?? h?.mode ?? snap.result?.mode;
  out.push(
    `${style.bold(snap.workflowId)}  ${style.dim(snap.runId)}\n` +
      `  target ${snap.target ?? p?.target ?? h?.target ?? snap.result?.target ?? '-'}` +
      (mode ? `   mode ${mode}` : '') +
      `   ${snap.status}` +
      (phase ? ` / ${phase}${p ? '' : ' (from history)'}` : '') +
      `   elapsed ${formatDuration(elapsed)}`,
  );
  if (stopped) out.push(style.red(style.bold(`  ${stillStoppedLine(stopped)}`)));
  const terminated = terminatedRestoreHint(snap);
  if (terminated) out.push(style.yellow(`  ${terminated}`));
  if (p) {
    out.push('', renderSteps(p.steps, now, style));
  } else if (h) {
    out.push('', renderSteps(h.steps, now, style));
    if (snap.status === 'RUNNING')
      out.push(style.dim(`  from the run's history (${snap.noWorker ? 'no worker answered the progress query' : `the progress query failed: ${snap.progressError ?? '?'}`}): ${h.why}`));
    else out.push(style.dim("  from the run's history (no worker answered the progress query)"));
    if (h.lastCompleted) out.push(style.dim(`  last step completed: ${h.lastCompleted.step} at ${formatTime(h.lastCompleted.at)}`));
    for (const sig of h.signals.filter((x) => !x.seenByRun)) {
      out.push(
        style.yellow(
          `  signal "${sig.name}"${sig.by ? ` from ${sig.by}` : ''} received ${formatTime(sig.at)}: the run has not taken it yet (it does when a worker runs it)${sig.problem ? `; it will be refused: ${sig.problem}` : ''}`,
        ),
      );
    }
  } else if (snap.status !== 'RUNNING' && snap.progressError) {
    out.push('', style.dim('  (steps not shown: no worker answered the progress query; the ending follows)'));
  }
  const bars = snap.activities.filter((a) => a.progress);
  if (bars.length) {
    out.push('');
    for (const a of bars) out.push('  ' + progressBar({ label: activityLabel(a), progress: a.progress!, rate: rates[a.activityId] }, style));
  }
  for (const a of snap.activities) {
    if (a.attempt > 1 && a.lastFailure) {
      out.push(style.yellow(`  ${a.type}: attempt ${a.attempt}, last failure: ${truncate(a.lastFailure, 160)}`));
    }
  }
  const approval = p?.approval && p.phase === 'awaiting-approval' ? p.approval : !p && h?.phase === 'awaiting-approval' ? h.approval : undefined;
  if (approval) {
    out.push(
      '',
      style.yellow(style.bold('  WAITING FOR APPROVAL')) +
        `  of database "${approval.database ?? '?'}"${'highRisk' in approval && approval.highRisk ? style.red(' (HIGH RISK)') : ''} since ${formatTime(approval.since)}, deadline ${formatTime(approval.deadline)}`,
      `  approve: reset-runbook approve ${snap.workflowId}    abort: reset-runbook abort ${snap.workflowId}`,
    );
  }
  const waiting = p?.waiting ?? (!p && h?.phase === 'waiting-for-operator' ? h.waiting : undefined);
  if (waiting) {
    // Absent in a state derived from history, where the run's own record is not at hand.
    const restartedAtPause = (waiting as { workersRestarted?: unknown }).workersRestarted;
    out.push(
      '',
      style.yellow(style.bold(`  PAUSED at step "${waiting.step}"`)) + ` since ${formatTime(waiting.since)}: the step failed its retries`,
      `  reason: ${waiting.error}`,
      ...(typeof restartedAtPause === 'boolean' ? [`  ${pauseWorkersLine(restartedAtPause, workersOf(snap))}`] : []),
      `  retry the step: reset-runbook resume ${snap.workflowId}    give up (restarts workers if stopped): reset-runbook abort ${snap.workflowId}`,
    );
  }
  if (snap.noWorker) out.push('', ...noWorkerLines(snap.noWorker, now, style));
  const restarting = restartLine(workersOf(snap));
  if (restarting && snap.status === 'RUNNING') out.push(style.yellow(`  ${restarting}`));
  else if (!stopped && snap.status === 'RUNNING' && (stoppedByRun(snap) || (!p && h?.workersStoppedSince))) {
    const since = p?.workers?.stoppedSince ?? h?.workersStoppedSince;
    out.push(style.yellow(`  Solid Queue workers are stopped by this run${since ? ` since ${formatTime(since)}` : ''}`));
  }
  if (snap.result) out.push('', renderResult(snap.result, style, snap.failure, stopped));
  else if (snap.failure) out.push('', style.red(`  ${snap.status}: ${snap.failure}`));
  return out.join('\n');
}

/** The workers' state as a run that did not leave them stopped ended: always said, never implied. */
export function workersEndLine(w: WorkersState): string {
  switch (w.status) {
    case 'running':
      return 'Solid Queue workers: running (started again by this run)';
    case 'left-stopped':
      return 'Solid Queue workers: stopped, as they were before the reset (workers.whenNoneAliveBefore "leave")';
    case 'untouched':
      return 'Solid Queue workers: not stopped by this run';
    default:
      return `Solid Queue workers: ${w.status}`;
  }
}

/** At a pause: did the run start the workers again while it waits? */
export function pauseWorkersLine(restarted: boolean, w: WorkersState | undefined): string {
  if (restarted) return 'Solid Queue workers: started again while the run waits (resume stops them again first)';
  if (w?.status === 'stopped') return 'Solid Queue workers: stopped, and left so while the run waits (none was alive before the reset)';
  return 'Solid Queue workers: not stopped by this run';
}

/** How a closed run ended: its result (with the workers' state), else its failure. */
export function renderEnding(snap: Snapshot, style: Style = PLAIN): string {
  if (snap.result) return renderResult(snap.result, style, snap.failure, leftStopped(snap));
  const stopped = leftStopped(snap);
  const lines = [style.red(`${snap.workflowId}: ${snap.status}${snap.failure ? `: ${snap.failure}` : ''}`)];
  if (stopped) lines.push(style.red(style.bold(`  ${stillStoppedLine(stopped)}`)));
  const hint = terminatedRestoreHint(snap);
  if (hint) lines.push(style.yellow(`  ${hint}`));
  return lines.join('\n');
}

/** "42 s ago" (seconds up to two minutes, then 3m05s). */
export function agoText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'just now';
  return ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : `${formatDuration(ms)} ago`;
}

/** What to say when no worker answered the progress query of a running run. */
export function noWorkerLines(nw: NonNullable<Snapshot['noWorker']>, now: Date, style: Style = PLAIN): string[] {
  const last = nw.lastPollAt ? `last poll ${agoText(now.getTime() - Date.parse(nw.lastPollAt))}` : 'no poll on record';
  const head = nw.recentPoll
    ? `no worker answered the progress query, though a worker polled task queue ${nw.taskQueue} within the heartbeat timeout (${nw.heartbeatTimeoutSeconds} s; ${last}): it may be stopping or stuck; the run continues when a worker runs it`
    : `no worker is polling task queue ${nw.taskQueue} (${last}): the run continues when a worker starts`;
  return [style.yellow(style.bold(`  ${head}`)), '  start one: systemctl start reset-runbook-worker | docker compose up -d worker | npm run worker'];
}

export function renderRunList(runs: RunSummary[], style: Style = PLAIN): string {
  if (!runs.length) return '  (no runs)';
  const lines = table(
    ['workflow id', 'kind', 'status', 'outcome', 'step', 'started', 'took'],
    runs.map((r) => [
      r.workflowId,
      r.kind,
      r.status === 'RUNNING' ? style.cyan(r.status) : r.status === 'COMPLETED' ? r.status : style.red(r.status),
      r.stillStopped ? style.red(r.outcome ?? 'failed') : (r.outcome ?? ''),
      r.step ?? '',
      formatTime(r.startTime),
      formatDuration((r.closeTime ? Date.parse(r.closeTime) : Date.now()) - Date.parse(r.startTime)),
    ]),
  ).split('\n');
  // Header and rule first, then each run with, under it, the workers it left stopped.
  const out = lines.slice(0, 2);
  runs.forEach((r, i) => {
    out.push(lines[i + 2]);
    if (r.stillStopped) out.push(style.red(style.bold(`    ${stillStoppedLine(r.stillStopped)}`)));
  });
  return out.join('\n');
}

export type { LeftStopped };
