/** The live view of one run that `status` prints and `follow` redraws. */
import type { WorkersState } from '../contract';
import { formatDuration, formatTime, truncate } from './format';
import { approvalWaitLines } from './render-approvals';
import { agoText, progressBar, renderSteps } from './render';
import { renderResult } from './render-ending';
import type { ActivityView, Snapshot } from './snapshot-model';
import { PLAIN, Style } from './style';
import {
  leftStopped,
  restartLine,
  stillStoppedLine,
  stoppedByRun,
  terminatedRestoreHint,
  workersOf,
} from './workers-view';

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
  const phase =
    snap.status === 'RUNNING' || ['completed', 'failed', 'aborted', 'cancelled'].includes(rawPhase ?? '')
      ? rawPhase
      : undefined;
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
      out.push(
        style.dim(
          `  from the run's history (${snap.noWorker ? 'no worker answered the progress query' : `the progress query failed: ${snap.progressError ?? '?'}`}): ${h.why}`,
        ),
      );
    else out.push(style.dim("  from the run's history (no worker answered the progress query)"));
    if (h.lastCompleted)
      out.push(style.dim(`  last step completed: ${h.lastCompleted.step} at ${formatTime(h.lastCompleted.at)}`));
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
    for (const a of bars)
      out.push(
        '  ' + progressBar({ label: activityLabel(a), progress: a.progress!, rate: rates[a.activityId] }, style),
      );
  }
  for (const a of snap.activities) {
    if (a.attempt > 1 && a.lastFailure) {
      out.push(style.yellow(`  ${a.type}: attempt ${a.attempt}, last failure: ${truncate(a.lastFailure, 160)}`));
    }
  }
  const approval =
    p?.approval && p.phase === 'awaiting-approval'
      ? p.approval
      : !p && h?.phase === 'awaiting-approval'
        ? h.approval
        : undefined;
  if (approval) {
    out.push(
      '',
      style.yellow(style.bold('  WAITING FOR APPROVAL')) +
        `  of database "${approval.database ?? '?'}"${'highRisk' in approval && approval.highRisk ? style.red(' (HIGH RISK)') : ''} since ${formatTime(approval.since)}, deadline ${formatTime(approval.deadline)}`,
      ...(p?.approval && approval === p.approval ? approvalWaitLines(p.approval, snap.workflowId, style) : []),
      `  approve: reset-runbook approve ${snap.workflowId}    abort: reset-runbook abort ${snap.workflowId}`,
    );
  }
  const waiting = p?.waiting ?? (!p && h?.phase === 'waiting-for-operator' ? h.waiting : undefined);
  if (waiting) {
    // Absent in a state derived from history, where the run's own record is not at hand.
    const restartedAtPause = (waiting as { workersRestarted?: unknown }).workersRestarted;
    out.push(
      '',
      style.yellow(style.bold(`  PAUSED at step "${waiting.step}"`)) +
        ` since ${formatTime(waiting.since)}: the step failed its retries`,
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
    out.push(
      style.yellow(`  Solid Queue workers are stopped by this run${since ? ` since ${formatTime(since)}` : ''}`),
    );
  }
  if (snap.result) out.push('', renderResult(snap.result, style, snap.failure, stopped));
  else if (snap.failure) out.push('', style.red(`  ${snap.status}: ${snap.failure}`));
  return out.join('\n');
}

/** At a pause: did the run start the workers again while it waits? */
export function pauseWorkersLine(restarted: boolean, w: WorkersState | undefined): string {
  if (restarted) return 'Solid Queue workers: started again while the run waits (resume stops them again first)';
  if (w?.status === 'stopped')
    return 'Solid Queue workers: stopped, and left so while the run waits (none was alive before the reset)';
  // Started by step 5 before this step failed (workers.startBeforePurge): running, and a retry leaves them so.
  if (w?.status === 'running')
    return 'Solid Queue workers: running: this run started them again before this step (resume does not stop them)';
  return 'Solid Queue workers: not stopped by this run';
}

/** What to say when no worker answered the progress query of a running run. */
export function noWorkerLines(nw: NonNullable<Snapshot['noWorker']>, now: Date, style: Style = PLAIN): string[] {
  const last = nw.lastPollAt ? `last poll ${agoText(now.getTime() - Date.parse(nw.lastPollAt))}` : 'no poll on record';
  const head = nw.recentPoll
    ? `no worker answered the progress query, though a worker polled task queue ${nw.taskQueue} within the heartbeat timeout (${nw.heartbeatTimeoutSeconds} s; ${last}): it may be stopping or stuck; the run continues when a worker runs it`
    : `no worker is polling task queue ${nw.taskQueue} (${last}): the run continues when a worker starts`;
  return [
    style.yellow(style.bold(`  ${head}`)),
    '  start one: systemctl start reset-runbook-worker | docker compose up -d worker | npm run worker',
  ];
}
