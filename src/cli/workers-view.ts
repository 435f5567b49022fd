/**
 * The one question every view must answer truthfully: are the target's Solid Queue workers running?
 * Read from the contract's `workers` state (result, then progress), with the older shapes as
 * fallbacks: `endReason`, a failure message "WORKERS ARE STILL STOPPED …", `workersStoppedByUs`.
 */
import { restoreCommand, type EndReason, type ResetResult, type WorkersState } from '../contract';
import { formatTime } from './format';
import type { LeftStopped, Snapshot } from './snapshot-model';

export const STILL_STOPPED_PREFIX = 'WORKERS ARE STILL STOPPED';
export const MAY_BE_STOPPED_PREFIX = 'WORKERS MAY STILL BE STOPPED';

/** Temporal statuses that close a run without running its code's ending (compensation included). */
const CLOSED_WITHOUT_ENDING = ['TERMINATED', 'TIMED_OUT'];

/** The workers' state as the freshest source says: the result (ended), else the progress query. */
export function workersOf(snap: Pick<Snapshot, 'result' | 'progress'>): WorkersState | undefined {
  return snap.result?.workers ?? snap.progress?.workers;
}

/** Set when the run ended (or is ending) with the workers stopped and a person must start them. */
export function leftStopped(
  snap: Pick<Snapshot, 'result' | 'progress' | 'failure' | 'history'> & { status?: string },
): LeftStopped | undefined {
  const w = workersOf(snap);
  if (snap.status && CLOSED_WITHOUT_ENDING.includes(snap.status)) {
    // Terminate skips the compensation: read from the history, a stop with no start after it.
    const since =
      snap.history?.stoppedWithoutStart ??
      (w && ['stopped', 'restarting', 'still-stopped'].includes(w.status) ? (w.stoppedSince ?? 'unknown') : undefined);
    if (!since) return undefined;
    const plan = snap.progress?.plan ?? snap.history?.plan;
    return {
      uncertain: true,
      closedAs: snap.status,
      since: since === 'unknown' ? undefined : since,
      startCommand: w?.startCommand ?? plan?.settings?.startCommand ?? snap.history?.startCommand,
    };
  }
  const failure = snap.failure ?? '';
  const message = snap.result?.message ?? '';
  const flagged =
    w?.status === 'still-stopped' ||
    snap.result?.endReason === 'workersStillStopped' ||
    failure.startsWith(STILL_STOPPED_PREFIX) ||
    message.startsWith(STILL_STOPPED_PREFIX);
  if (!flagged) return undefined;
  const stopStep =
    snap.progress?.steps.find((s) => s.name === 'stopWorkers') ??
    snap.history?.steps.find((s) => s.name === 'stopWorkers');
  const plan = snap.result?.plan ?? snap.progress?.plan ?? snap.history?.plan;
  return {
    since: w?.stoppedSince ?? stopStep?.startedAt ?? snap.history?.workersStoppedSince,
    startCommand: w?.startCommand ?? plan?.settings?.startCommand ?? snap.history?.startCommand,
    lastError: w?.restart?.lastError,
  };
}

/** The red line every view prints for a run that left the workers stopped. */
export function stillStoppedLine(l: LeftStopped): string {
  if (l.uncertain) {
    return `${MAY_BE_STOPPED_PREFIX}: the run stopped them${l.since ? ` at ${formatTime(l.since)}` : ''} and was ${l.closedAs === 'TIMED_OUT' ? 'timed out' : 'terminated'} before starting them again (Terminate skips the compensation) — check, and start them by hand: ${l.startCommand ?? "the target's start command (workers.start in the targets file)"}`;
  }
  return `${STILL_STOPPED_PREFIX} since ${l.since ? formatTime(l.since) : 'an unrecorded time'} — start them by hand: ${l.startCommand ?? "the target's start command (workers.start in the targets file)"}`;
}

/**
 * A run closed from outside after its reset step started: its TRUNCATE may have committed, and no
 * ending said so. The restore checks the run's journal and refuses if there is nothing to undo.
 */
export function terminatedRestoreHint(
  snap: Pick<Snapshot, 'status' | 'history' | 'runId' | 'target'>,
): string | undefined {
  if (!CLOSED_WITHOUT_ENDING.includes(snap.status) || !snap.history?.resetStarted) return undefined;
  const target = snap.target ?? snap.history.target;
  if (!target) return undefined;
  return `its reset step had started, so its TRUNCATE may have committed; if it did, undo it with: ${restoreCommand(target, snap.runId)}`;
}

/** "restarting workers, attempt 2/5 (budget until 18:40:12Z): last error …" while compensating. */
export function restartLine(w: WorkersState | undefined): string | undefined {
  if (!w || w.status !== 'restarting') return undefined;
  const r = w.restart;
  if (!r) return 'restarting workers';
  return `restarting workers, attempt ${r.attempt}/${r.maxAttempts} (budget until ${formatTime(r.deadline).slice(11)})${r.lastError ? `; last error: ${r.lastError}` : ''}`;
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

/** Whether this run has the workers stopped right now (contract state, else the older flag). */
export function stoppedByRun(snap: Pick<Snapshot, 'progress'>): boolean {
  const w = snap.progress?.workers;
  if (w) return w.status === 'stopped' || w.status === 'restarting' || w.status === 'still-stopped';
  // Workers older than the `workers` state answered with this flag instead.
  return (snap.progress as { workersStoppedByUs?: boolean } | undefined)?.workersStoppedByUs === true;
}

/**
 * The outcome to show: what the result says. A run older than the `workers` state that failed its
 * compensation carried its initial "planned"; an execute run that left the workers stopped has failed.
 */
export function shownOutcome(
  result: ResetResult | undefined,
  stopped: LeftStopped | undefined,
): ResetResult['outcome'] | undefined {
  if (!result) return undefined;
  if (stopped && result.mode === 'execute' && result.outcome === 'planned') return 'failed';
  return result.outcome;
}

/** endReason from the result, or what an older run's ending shows. */
export function endReasonOf(
  snap: Pick<Snapshot, 'result' | 'progress' | 'failure' | 'history'>,
): EndReason | undefined {
  if (snap.result?.endReason) return snap.result.endReason;
  if (leftStopped(snap)) return 'workersStillStopped';
  return undefined;
}
