/** Schedules as text: a list, one schedule described, and the diff of a sync. Pure. */
import { formatDuration, formatTime, padVisible, visibleLength } from '../format';
import type { Style } from '../style';
import type { ScheduleMemo } from '../../contract';
import type { ScheduleWhen } from './spec';
import type { SyncEntry, SyncKind } from './sync';
import type { ScheduledRun, ScheduleView } from './view';

export function resetsText(r: ScheduleMemo['resets']): string {
  return 'group' in r ? `group ${r.group}` : `target ${r.target}`;
}

/** "cron 0 5 * * * (Europe/Berlin), jitter 5m, pauses on failure" */
export function whenText(w: ScheduleWhen | undefined): string {
  if (!w) return '(not known: made by another version)';
  const parts = [w.cron !== undefined ? `cron "${w.cron}" (${w.timezone ?? 'UTC'})` : `every ${w.every}`];
  if (w.jitter) parts.push(`jitter ${w.jitter}`);
  if (w.pauseOnFailure) parts.push('pauses on failure');
  return parts.join(', ');
}

function runText(r: ScheduledRun, style: Style): string {
  const ending = r.outcome
    ? `${r.outcome}${r.endReason && r.endReason !== r.outcome ? ` (${r.endReason})` : ''}`
    : r.status.toLowerCase();
  const colour =
    r.outcome === 'completed' || r.outcome === 'planned'
      ? style.green
      : r.status === 'RUNNING'
        ? style.yellow
        : style.red;
  return `${formatTime(r.scheduledAt)}  ${colour(ending)}  ${r.workflowId}${r.message ? `  ${r.message}` : ''}`;
}

export function renderScheduleList(views: ScheduleView[], style: Style): string {
  if (views.length === 0)
    return 'No schedules of reset-runbook. Make one: reset-runbook schedule create <target> --cron "0 5 * * *"';
  const rows = views.map((v) => [
    v.name,
    resetsText(v.resets),
    v.paused ? style.yellow('paused') : 'active',
    v.source,
    whenText(v.when),
    v.nextRuns[0] ? formatTime(v.nextRuns[0]) : '-',
  ]);
  const head = ['NAME', 'RESETS', 'STATE', 'SOURCE', 'WHEN', 'NEXT RUN'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i]))));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : padVisible(c, widths[i]))).join('  ');
  return [style.bold(line(head)), ...rows.map(line)].join('\n');
}

export function renderScheduleDescription(v: ScheduleView, style: Style): string {
  const lines = [
    `${style.bold(`schedule ${v.name}`)}  (${v.scheduleId})`,
    `  resets     ${resetsText(v.resets)}, unattended (refuses production and targets that need approval)`,
    `  when       ${whenText(v.when)}`,
    `  state      ${v.paused ? style.yellow('PAUSED') : 'active'}${v.note ? `  note: ${v.note}` : ''}`,
    `  policies   overlap ${v.overlap}, catch-up window ${formatDuration(v.catchupWindowMs)}, pause on failure: ${v.pauseOnFailure ? 'yes' : 'no'}`,
    `  source     ${v.source === 'cli' ? 'reset-runbook schedule create' : 'the targets file (reset-runbook schedule sync)'}`,
    `  runs       ${v.actionsTaken} started, ${v.skippedOverlap} skipped (still running), ${v.missedCatchupWindow} missed (server late)`,
  ];
  lines.push('', 'Next runs:');
  if (v.paused) lines.push('  none while paused; unpause: reset-runbook schedule unpause ' + v.name);
  else lines.push(...(v.nextRuns.length ? v.nextRuns.map((t) => `  ${formatTime(t)}`) : ['  none']));
  lines.push('', 'Recent runs:');
  lines.push(...(v.recent.length ? [...v.recent].reverse().map((r) => `  ${runText(r, style)}`) : ['  none yet']));
  if (v.paused && v.pauseOnFailure && v.recent.some((r) => r.status === 'FAILED')) {
    lines.push(
      '',
      style.yellow(
        'Paused after a run that did not complete: see why, fix it, then: reset-runbook schedule unpause ' + v.name,
      ),
    );
  }
  return lines.join('\n');
}

const KIND_LABEL: Record<SyncKind, string> = {
  create: 'create',
  update: 'update',
  delete: 'delete',
  unchanged: 'unchanged',
  conflict: 'CONFLICT',
  refused: 'REFUSED',
};

/** The diff of a sync, one line per schedule and its reasons under it; `dryRun` words it as what would happen. */
export function renderSyncReport(entries: SyncEntry[], o: { dryRun: boolean; file: string }, style: Style): string {
  const colour = (k: SyncKind) =>
    k === 'refused' || k === 'conflict' ? style.red : k === 'unchanged' ? style.dim : style.green;
  const lines = [`${o.dryRun ? 'Would sync' : 'Synced'} the schedules of ${o.file}:`];
  if (entries.length === 0) lines.push('  nothing: the file has no schedule blocks and sync owns no schedule');
  for (const e of entries) {
    const what = e.resets ? `  ${resetsText(e.resets)}` : '';
    const when = e.desired && e.kind !== 'delete' ? `  ${whenText(e.desired.when)}` : '';
    lines.push(`  ${colour(e.kind)(padVisible(KIND_LABEL[e.kind], 9))}  ${e.name}${what}${when}`);
    for (const r of e.reasons) lines.push(`             ${r}`);
  }
  const count = (k: SyncKind) => entries.filter((e) => e.kind === k).length;
  lines.push(
    '',
    `${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete, ${count('unchanged')} unchanged, ${count('conflict')} conflict(s), ${count('refused')} refused`.replace(
      /to (create|update|delete)/g,
      o.dryRun ? 'to $1' : '$1d',
    ),
  );
  return lines.join('\n');
}
