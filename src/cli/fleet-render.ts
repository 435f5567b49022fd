/**
 * Fleet renderers: pure functions from the fleet contract (FleetProgress, FleetResult, FleetTarget)
 * to text, unit-tested without a server. They read like the single-target views: the plan before
 * the approval, one line per target while it runs, and an ending that says loudly what a person must do.
 */
import type { FleetLimits, FleetResult, FleetTarget, FleetTotals } from '../contract';
import { formatCount, formatDuration, formatTime, truncate } from './format';
import type { FleetSnapshot } from './fleet-snapshot';
import { fleetTargets, stillStoppedTargets } from './fleet-snapshot';
import { table } from './render';
import { PLAIN, Style } from './style';
import { STILL_STOPPED_PREFIX } from './workers-view';

const MARK: Record<string, string> = {
  pending: '·',
  planned: '·',
  running: '▶',
  'awaiting-approval': '⏸',
  'waiting-for-operator': '⏸',
  completed: '✔',
  failed: '✖',
  aborted: '✖',
  'not-started': '–',
};

function colorStatus(status: string, text: string, style: Style): string {
  if (status === 'completed') return style.green(text);
  if (status === 'failed' || status === 'aborted') return style.red(text);
  if (status === 'awaiting-approval' || status === 'waiting-for-operator') return style.yellow(text);
  if (status === 'running') return style.cyan(text);
  return style.dim(text);
}

/** "max concurrent 2, max failures 0, batches 1 + 2 (given 1,100%)" */
export function limitsLine(l: FleetLimits): string {
  const given = l.given.batches ? ` (given ${l.given.batches.join(',')})` : '';
  const share = (n: number, g: unknown) => (typeof g === 'string' ? `${n} (${g})` : String(n));
  return `max concurrent ${share(l.maxConcurrent, l.given.maxConcurrent)}, max failures ${share(l.maxFailures, l.given.maxFailures)}, batches ${l.batches.join(' + ')}${given}`;
}

/** The plan of every target, one line each, then the totals: what the fleet's approval approves. */
export function renderFleetPlan(
  name: string,
  targets: FleetTarget[],
  limits: FleetLimits | undefined,
  style: Style = PLAIN,
): string {
  const out = [
    style.bold(`Plan for fleet "${name}": ${targets.length} targets, ${formatCount(databasesOf(targets))} databases`),
  ];
  const rows = targets.map((t) => {
    const p = t.plan;
    if (!p) return [t.target, '-', '-', '-', '-', '-', t.detail ? truncate(t.detail, 60) : 'no plan', String(t.batch)];
    const own = p.ownApproval ? style.yellow(`yes: ${p.ownApproval}`) : 'no (the fleet approval covers it)';
    return [
      t.target,
      p.databaseName + (p.databases > 1 ? ` (+${p.databases - 1})` : ''),
      p.environment ?? '?',
      formatCount(p.tablesToTruncate),
      formatCount(p.rowsToTruncate),
      formatCount(p.objectsToDelete),
      own,
      String(t.batch),
    ];
  });
  out.push(
    table(['target', 'database', 'environment', 'tables', 'rows', 'objects', 'own approval', 'batch'], rows, {
      align: ['left', 'left', 'left', 'right', 'right', 'right', 'left', 'right'],
    }),
  );
  const sum = (f: (t: FleetTarget) => number) => targets.reduce((n, t) => n + (t.plan ? f(t) : 0), 0);
  out.push(
    `  total: ${targets.length} targets, ${formatCount(databasesOf(targets))} databases, ${formatCount(sum((t) => t.plan!.tablesToTruncate))} tables and ` +
      `${formatCount(sum((t) => t.plan!.rowsToTruncate))} rows to truncate, ${formatCount(sum((t) => t.plan!.objectsToDelete))} objects to delete`,
  );
  if (limits) out.push(`  ${limitsLine(limits)}`);
  for (const t of targets) {
    if (t.plan?.undo) out.push(`  ${t.target}: undo: ${t.plan.undo}`);
    for (const w of t.plan?.warnings ?? []) out.push(`  ${style.yellow('!')} ${t.target}: ${w}`);
    for (const e of t.plan?.errors ?? []) out.push(`  ${style.red('✖')} ${t.target}: ${e}`);
  }
  const errors = targets.filter((t) => t.plan?.errors.length).length;
  if (errors) out.push(style.red(style.bold(`  ${errors} target(s) with plan errors: the fleet would stop there`)));
  return out.join('\n');
}

export function databasesOf(targets: FleetTarget[]): number {
  return targets.reduce((n, t) => n + (t.plan?.databases ?? 0), 0);
}

/** "3 targets: 1 completed, 1 running, 1 pending" (only the counts that are not zero). */
export function totalsLine(t: FleetTotals, targets?: FleetTarget[]): string {
  const parts: string[] = [];
  const add = (n: number, what: string) => n && parts.push(`${n} ${what}`);
  add(t.completed, 'completed');
  add(t.running, 'running');
  add(t.waiting, 'waiting');
  add(t.failed, 'failed');
  add(t.aborted, 'aborted');
  add(t.notStarted, 'not started');
  add(targets ? targets.filter((x) => x.status === 'planned').length : 0, 'planned');
  add(targets ? targets.filter((x) => x.status === 'pending').length : 0, 'pending');
  const head = `${t.targets} targets${parts.length ? ': ' + parts.join(', ') : ''}`;
  return t.workersStillStopped ? `${head}; ${t.workersStillStopped} with workers STILL STOPPED` : head;
}

/** One line per target: status, current step, detail. */
export function renderTargetLines(targets: FleetTarget[], style: Style = PLAIN): string {
  return table(
    ['', 'target', 'status', 'step', 'detail'],
    targets.map((t) => [
      colorStatus(t.status, MARK[t.status] ?? '?', style),
      t.target,
      colorStatus(t.status, t.status, style),
      t.step ? `${t.step}${t.stepStatus && t.stepStatus !== 'running' ? ` (${t.stepStatus})` : ''}` : '',
      truncate((t.detail ?? '').replace(/\s+/g, ' '), 80),
    ]),
  );
}

/** The loud line of a child that left its workers stopped: the child's own status tells the start command. */
export function stillStoppedTargetLine(t: FleetTarget): string {
  const since = t.workersStoppedSince ? ` since ${t.workersStoppedSince}` : '';
  return `${STILL_STOPPED_PREFIX}${since} for target "${t.target}" — start them by hand: ${t.startCommand ?? `the command is in: reset-runbook status ${t.workflowId}`}`;
}

/** The live view of a fleet: header, a line per target, what it waits for, the ending once closed. */
export function renderFleetView(snap: FleetSnapshot, now: Date, style: Style = PLAIN): string {
  const p = snap.progress;
  const elapsed = (snap.closeTime ? Date.parse(snap.closeTime) : now.getTime()) - Date.parse(snap.startTime);
  const out = [
    `${style.bold(snap.workflowId)}  ${style.dim(snap.runId)}\n` +
      `  fleet ${p?.name ?? snap.result?.name ?? '-'}   mode ${p?.mode ?? snap.result?.mode ?? '-'}   ${snap.status}${p ? ` / ${p.phase}` : ''}` +
      (p?.batch ? `   batch ${p.batch.index}/${p.batch.of}` : '') +
      `   elapsed ${formatDuration(elapsed)}`,
  ];
  if (snap.result) return [...out, '', renderFleetEnding(snap.result, style, snap.failure)].join('\n');
  const targets = fleetTargets(snap);
  if (targets.length) out.push('', renderTargetLines(targets, style));
  if (p) out.push(`  ${totalsLine(p.totals, p.targets)}`);
  const a = p?.phase === 'awaiting-approval' ? p.approval : undefined;
  if (a) {
    out.push(
      '',
      style.yellow(style.bold('  WAITING FOR THE FLEET APPROVAL')) +
        ` of ${a.databases} databases since ${formatTime(a.since)}, deadline ${formatTime(a.deadline)}`,
      `  approve: reset-runbook fleet approve ${a.fleet}    abort: reset-runbook fleet abort ${a.fleet}`,
    );
    if (a.rejected) out.push(style.red(`  an approval was refused: ${a.rejected}`));
  }
  for (const t of p?.targets ?? []) {
    if (t.status === 'awaiting-approval')
      out.push(style.yellow(`  ${t.target} waits for its own approval: reset-runbook approve ${t.workflowId}`));
    if (t.status === 'waiting-for-operator')
      out.push(
        style.yellow(
          `  ${t.target} is PAUSED: reset-runbook resume ${t.workflowId}  or  reset-runbook abort ${t.workflowId}`,
        ),
      );
  }
  if (p?.stopped) out.push(style.red(`  no new target starts: ${p.stopped.detail}`));
  for (const t of stillStoppedTargets(snap)) out.push(style.red(style.bold(`  ${stillStoppedTargetLine(t)}`)));
  if (snap.noWorker)
    out.push(
      style.yellow(style.bold('  no worker answered the progress query: the fleet continues when a worker runs it')),
    );
  else if (!p && snap.progressError) out.push(style.dim(`  (no progress: ${snap.progressError})`));
  if (!snap.result && snap.failure) out.push('', style.red(`  ${snap.status}: ${snap.failure}`));
  return out.join('\n');
}

/** How a fleet ended: every target's outcome, the totals, the undo commands, the workers left stopped. */
export function renderFleetEnding(r: FleetResult, style: Style = PLAIN, failure?: string): string {
  const stopped = r.targets.filter((t) => t.workers === 'still-stopped' || t.endReason === 'workersStillStopped');
  const ok = !stopped.length && (r.outcome === 'completed' || r.outcome === 'planned');
  const head = `${r.mode === 'plan' ? 'Plan of fleet' : 'Fleet'} "${r.name}": ${r.outcome}${r.endReason !== r.outcome ? ` (${r.endReason})` : ''}`;
  const out = [ok ? style.green(style.bold(head)) : style.red(style.bold(head))];
  for (const t of stopped) out.push(style.red(style.bold(`  ${stillStoppedTargetLine(t)}`)));
  if (r.message) out.push(`  ${r.message}`);
  else if (failure && !ok) out.push(`  ${failure}`);
  if (r.mode === 'plan') {
    out.push('', renderFleetPlan(r.name, r.targets, r.limits, style));
  } else {
    out.push(
      table(
        ['', 'target', 'outcome', 'end reason', 'workers', 'detail'],
        r.targets.map((t) => {
          const outcome = t.outcome ?? t.status;
          const workers = t.workers === 'still-stopped' ? style.red(style.bold('STILL STOPPED')) : (t.workers ?? '-');
          return [
            colorStatus(outcome, MARK[outcome] ?? '?', style),
            t.target,
            colorStatus(outcome, outcome, style),
            t.endReason ?? '-',
            workers,
            truncate((t.detail ?? '').replace(/\s+/g, ' '), 70),
          ];
        }),
      ),
    );
  }
  out.push(`  ${totalsLine(r.totals)}${r.durationMs !== undefined ? ` in ${formatDuration(r.durationMs)}` : ''}`);
  // The TRUNCATE of these children committed: each can be undone on its own.
  for (const t of r.targets)
    if (t.restoreCommand)
      out.push(style.yellow(`  ${t.target}: the TRUNCATE committed. Undo with: ${t.restoreCommand}`));
  return out.join('\n');
}
