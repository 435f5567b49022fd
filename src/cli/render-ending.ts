/**
 * How runs ended: one run's result or failure, with the workers' state always said, and the list
 * of runs with the workers each left stopped.
 */
import { backupProof, type ResetResult, formatBytes } from '../contract';
import { formatCount, formatDuration, formatTime } from './format';
import { approvalEndLines } from './render-approvals';
import { table } from './render';
import { isRestoreResult, renderRestoreResult } from './render-restore';
import type { RunSummary, Snapshot } from './snapshot-model';
import { PLAIN, Style } from './style';
import type { LeftStopped } from './snapshot-model';
import {
  leftStopped,
  STILL_STOPPED_PREFIX,
  shownOutcome,
  stillStoppedLine,
  terminatedRestoreHint,
  workersEndLine,
} from './workers-view';

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
  out.push(...approvalEndLines(result));
  for (const f of result.backup?.files ?? []) {
    out.push(
      `  backup (${f.database}): ${f.path} (${formatBytes(f.bytes)}, sha256 ${f.sha256.slice(0, 16)}…, ${f.tocEntries} entries)`,
    );
  }
  if (result.backup) out.push(`  backup proof: ${backupProof(result.backup)}`);
  const changed =
    result.plan?.strategy === 'rebuild' ? 'The rebuild command changed the database.' : 'The TRUNCATE committed.';
  if (result.restoreCommand) out.push(style.yellow(`  ${changed} Undo this reset with: ${result.restoreCommand}`));
  if (result.objectsDeleted) {
    out.push(
      `  storage: ${formatCount(result.objectsDeleted.count)} objects deleted (${formatBytes(result.objectsDeleted.bytes)}${result.objectsDeleted.variants ? `; ${formatCount(result.objectsDeleted.variants)} of them untracked variants` : ''})` +
        (result.objectsDeleted.errors ? style.red(`, ${result.objectsDeleted.errors} errors`) : '') +
        (result.objectsDeleted.alreadyGone
          ? `, ${formatCount(result.objectsDeleted.alreadyGone)} already gone (removed by an earlier attempt)`
          : ''),
    );
    const missing = result.objectsDeleted.missing;
    if (missing)
      out.push(
        style.yellow(
          `  storage: ${formatCount(missing)} file(s) were missing before the reset (blob rows without a file), e.g. ${(result.objectsDeleted.missingSample ?? []).join(', ')}`,
        ),
      );
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
          result.verify.lines.map((l) => [
            l.ok ? style.green('✔') : style.red('✖'),
            l.label,
            l.expected,
            String(l.actual),
          ]),
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

/**
 * A run that refused its target before touching anything (not in the worker's targets file): one
 * plain refusal for the operator, not a failed run with an empty result to read through.
 */
export function unknownTargetRefusal(snap: Snapshot): string | undefined {
  if (snap.failureType !== 'UnknownTarget') return undefined;
  return `refused: ${snap.failure ?? snap.result?.message ?? 'unknown target'}`;
}

/** How a closed run ended: its result (with the workers' state), else its failure. */
export function renderEnding(snap: Snapshot, style: Style = PLAIN): string {
  const refusal = unknownTargetRefusal(snap);
  if (refusal) return style.red(refusal);
  if (snap.result) return renderResult(snap.result, style, snap.failure, leftStopped(snap));
  const stopped = leftStopped(snap);
  const lines = [style.red(`${snap.workflowId}: ${snap.status}${snap.failure ? `: ${snap.failure}` : ''}`)];
  if (stopped) lines.push(style.red(style.bold(`  ${stillStoppedLine(stopped)}`)));
  const hint = terminatedRestoreHint(snap);
  if (hint) lines.push(style.yellow(`  ${hint}`));
  return lines.join('\n');
}

export function renderRunList(runs: RunSummary[], style: Style = PLAIN): string {
  if (!runs.length) return '  (no runs)';
  const lines = table(
    ['workflow id', 'kind', 'status', 'outcome', 'step', 'started', 'duration'],
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
