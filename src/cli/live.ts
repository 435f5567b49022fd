/**
 * Following a run: polls the server once a second and shows what it sees. On a terminal it redraws
 * a live view; piped, it prints one line per change; with --json, one NDJSON object per change.
 * Ctrl-C (ctx.signal) detaches: the run goes on, untouched.
 */
import { Client, WorkflowHandle } from '@temporalio/client';
import { Context, sleep } from './context';
import { EXIT, ExitCode } from './exit-codes';
import { formatTime, visibleLength } from './format';
import { agoText, progressBar } from './render';
import { activityLabel, renderView } from './render-view';
import { RateTracker, takeSnapshot } from './snapshot';
import { exitCodeFor } from './snapshot-exit';
import { phaseOf, Snapshot } from './snapshot-model';
import { approvalChangeLines } from './render-approvals';
import { endReasonOf, leftStopped, restartLine, shownOutcome, stillStoppedLine, workersOf } from './workers-view';

export type WaitingKind = 'approval' | 'operator' | 'no-worker';

export function waitingKind(snap: Snapshot): WaitingKind | undefined {
  if (snap.status !== 'RUNNING') return undefined;
  if (snap.noWorker) return 'no-worker';
  if (snap.progress?.phase === 'awaiting-approval') return 'approval';
  if (snap.progress?.phase === 'waiting-for-operator') return 'operator';
  return undefined;
}

export interface FollowOptions {
  intervalMs?: number;
  /** Return (exit 3) as soon as the run waits for an operator. */
  exitOnWait?: boolean;
  /**
   * Called each time a poll finds the run waiting; `start` uses it to ask for the approval.
   * Returns 'continue' to keep following, 'stop' to return with the current exit code.
   */
  onWaiting?: (snap: Snapshot, kind: WaitingKind) => Promise<'continue' | 'stop'>;
  /** Show nothing while following (plan, abort): the caller prints the end; only "no worker" is said, once. */
  quiet?: boolean;
  /** The caller already said that no worker polls (before starting the run): do not say it again. */
  noWorkerSaid?: boolean;
}

/**
 * Seconds a run's workflow task may wait unstarted before we say no worker polls (a polling worker takes it in
 * milliseconds).
 */
export const UNCLAIMED_TASK_SECONDS = 3;

/**
 * One line saying that no worker runs this run now, as soon as that shows: the workflow task waits
 * unstarted, or the progress query found no worker. The server lists a stopped worker's polls for a
 * minute or more, so the poller list alone would say it only that much later.
 */
export function noWorkerNote(snap: Snapshot, now: Date): string | undefined {
  if (snap.status !== 'RUNNING') return undefined;
  const since = snap.workflowTaskWaitingSince ? Date.parse(snap.workflowTaskWaitingSince) : NaN;
  const waited = Number.isFinite(since) ? Math.max(0, now.getTime() - since) : undefined;
  if (!snap.noWorker && (waited === undefined || waited < UNCLAIMED_TASK_SECONDS * 1000)) return undefined;
  const queue = snap.noWorker?.taskQueue ?? snap.taskQueue ?? '?';
  const why =
    waited !== undefined && waited >= UNCLAIMED_TASK_SECONDS * 1000
      ? `its workflow task has waited ${agoText(waited).replace(/ ago$/, '')} for one`
      : 'none answered its progress query';
  return `no worker polls task queue "${queue}" now (${why}): the run goes on as soon as one does (Ctrl-C to detach)`;
}

export interface FollowOutcome {
  snap: Snapshot;
  code: ExitCode;
  detached: boolean;
}

/** What changed between two snapshots, for the line-per-change output. */
export function changeLines(prev: Snapshot | undefined, snap: Snapshot, now: Date, bars: boolean): string[] {
  const lines: string[] = [];
  const t = formatTime(now).slice(11);
  // A closed run no worker answers for still has its steps in its history.
  const stepsOf = (x: Snapshot | undefined) =>
    x?.progress?.steps ?? (x && x.status !== 'RUNNING' ? x.history?.steps : undefined) ?? [];
  const prevSteps = new Map(stepsOf(prev).map((s) => [s.name, s]));
  for (const s of stepsOf(snap)) {
    const before = prevSteps.get(s.name);
    if (!before ? s.status !== 'pending' : before.status !== s.status || before.attempts !== s.attempts) {
      const extra = s.error
        ? `: ${s.error}`
        : s.detail && (s.status === 'done' || s.status === 'skipped')
          ? `: ${s.detail}`
          : '';
      // The first snapshot catches up on what happened before we looked (a finished run's whole
      // story): stamp each step with its own time, not the time we read it.
      const own = prev
        ? undefined
        : s.status === 'running' || s.status === 'waiting-for-operator'
          ? s.startedAt
          : (s.endedAt ?? s.startedAt);
      const at = own && formatTime(own) !== '-' ? formatTime(own).slice(11) : t;
      lines.push(`[${at}] ${s.title}: ${s.status}${s.attempts > 1 ? ` (try ${s.attempts})` : ''}${extra}`);
    }
  }
  lines.push(...approvalChangeLines(prev?.progress?.approval, snap.progress?.approval, t));
  const kind = waitingKind(snap);
  const prevKind = prev ? waitingKind(prev) : undefined;
  if (kind && kind !== prevKind) {
    if (kind === 'approval' && snap.progress?.approval) {
      lines.push(
        `[${t}] WAITING FOR APPROVAL of database "${snap.progress.approval.database}": reset-runbook approve ${snap.workflowId}`,
      );
    } else if (kind === 'operator' && snap.progress?.waiting) {
      lines.push(`[${t}] PAUSED at step "${snap.progress.waiting.step}": ${snap.progress.waiting.error}`);
      lines.push(
        `[${t}]   retry: reset-runbook resume ${snap.workflowId}   abort: reset-runbook abort ${snap.workflowId}`,
      );
    } else if (kind === 'no-worker' && snap.noWorker) {
      const nw = snap.noWorker;
      const last = nw.lastPollAt
        ? `last poll ${agoText(now.getTime() - Date.parse(nw.lastPollAt))}`
        : 'no poll on record';
      lines.push(
        nw.recentPoll
          ? `[${t}] NO WORKER answered the progress query (${last}, within the heartbeat timeout): the run continues when a worker runs it`
          : `[${t}] NO WORKER is polling task queue ${nw.taskQueue} (${last}): the run continues when a worker starts`,
      );
      if (snap.history)
        lines.push(
          `[${t}]   from the run's history: ${snap.history.phase}${snap.history.currentStep ? `, step ${snap.history.currentStep}` : ''}: ${snap.history.why}`,
        );
    }
  }
  const restart = restartLine(workersOf(snap));
  if (restart && restart !== restartLine(prev ? workersOf(prev) : undefined)) lines.push(`[${t}] ${restart}`);
  const stopped = leftStopped(snap);
  if (stopped && !(prev && leftStopped(prev))) lines.push(`[${t}] ${stillStoppedLine(stopped)}`);
  if (bars) {
    for (const a of snap.activities)
      if (a.progress) lines.push(`[${t}] ${progressBar({ label: activityLabel(a), progress: a.progress, width: 20 })}`);
  }
  if (snap.status !== 'RUNNING' && prev?.status === 'RUNNING') lines.push(`[${t}] run ${snap.status.toLowerCase()}`);
  return lines;
}

/** A comparable digest of what matters in a snapshot (not times). */
function fingerprint(s: Snapshot): string {
  const w = workersOf(s);
  return JSON.stringify([
    s.status,
    phaseOf(s),
    (s.progress ?? s.history)?.steps.map((x) => [x.status, x.attempts]),
    s.activities.map((a) => [a.attempt, a.progress?.done]),
    !!s.noWorker,
    w?.status,
    w?.restart?.attempt,
    w?.restart?.lastError,
  ]);
}

export async function followRun(
  ctx: Context,
  client: Client,
  handle: WorkflowHandle,
  opts: FollowOptions = {},
): Promise<FollowOutcome> {
  const interval = opts.intervalMs ?? Number(ctx.io.env.RESET_RUNBOOK_POLL_MS ?? 1000);
  const rates = new RateTracker();
  let prev: Snapshot | undefined;
  let drawnRows = 0;
  let lastBarsAt = 0;
  let lastFingerprint = '';
  let noWorkerSaid = !!opts.noWorkerSaid;
  const columns = () => ctx.io.stdout.columns ?? 120;

  const draw = (text: string) => {
    const rows = text.split('\n').reduce((n, l) => n + Math.max(1, Math.ceil(visibleLength(l) / columns())), 0);
    let out = '';
    if (drawnRows) out += `\x1b[${drawnRows}F\x1b[0J`;
    ctx.io.stdout.write(out + text + '\n');
    drawnRows = rows;
  };

  for (;;) {
    const snap = await takeSnapshot(client, handle, { queryTimeoutMs: 5000 });
    const now = ctx.now();
    for (const a of snap.activities) if (a.progress) rates.add(a.activityId, a.progress.done, now.getTime());
    const fp = fingerprint(snap);
    if (ctx.json) {
      if (!opts.quiet && (fp !== lastFingerprint || snap.status !== 'RUNNING'))
        ctx.emit({ type: 'progress', ...snapshotJson(snap, rates) });
    } else if (!opts.quiet) {
      if (ctx.live) draw(renderView(snap, { now, rates: rates.rates(), style: ctx.style }));
      else {
        const withBars = now.getTime() - lastBarsAt >= 10_000;
        if (withBars) lastBarsAt = now.getTime();
        for (const l of changeLines(prev, snap, now, withBars && snap.status === 'RUNNING')) ctx.print(l);
      }
    }
    lastFingerprint = fp;
    prev = snap;
    // Quiet followers (plan) print nothing until the end, and the line-per-change output says "NO
    // WORKER" only once the progress query has timed out: say it as soon as the workflow task waits.
    if (!ctx.json && !noWorkerSaid) {
      if (!opts.quiet && snap.noWorker) {
        // changeLines or the live view says it.
        noWorkerSaid = true;
      } else if (opts.quiet || !ctx.live) {
        const note = noWorkerNote(snap, now);
        if (note) {
          ctx.note(note);
          noWorkerSaid = true;
        }
      }
    }

    if (snap.status !== 'RUNNING') return { snap, code: exitCodeFor(snap), detached: false };
    const kind = waitingKind(snap);
    if (kind) {
      if (opts.onWaiting) {
        const next = await opts.onWaiting(snap, kind);
        if (next === 'stop') return { snap, code: exitCodeFor(snap), detached: false };
        if (ctx.live) drawnRows = 0; // the prompt's lines stay; redraw below them
      } else if (opts.exitOnWait) {
        return { snap, code: EXIT.waiting, detached: false };
      }
    }
    await sleep(interval, ctx.signal);
    if (ctx.signal.aborted) {
      ctx.note(
        `\ndetached from ${snap.workflowId}: the run goes on. Follow it again: reset-runbook follow ${snap.workflowId}`,
      );
      return { snap, code: exitCodeFor(snap) === EXIT.waiting ? EXIT.waiting : EXIT.running, detached: true };
    }
  }
}

/** The last --json object of a command that followed a run to its end (start, abort). */
export function endingJson(snap: Snapshot, exitCode: ExitCode, extra: Record<string, unknown> = {}) {
  const stopped = leftStopped(snap);
  return {
    type: 'result',
    workflowId: snap.workflowId,
    runId: snap.runId,
    ...extra,
    status: snap.status,
    outcome: shownOutcome(snap.result, stopped) ?? (stopped ? 'failed' : null),
    endReason: endReasonOf(snap) ?? null,
    workers: workersOf(snap) ?? null,
    workersStillStopped: stopped ?? null,
    result: snap.result ?? null,
    failure: snap.failure ?? null,
    exitCode,
  };
}

/** The JSON shape of a snapshot for --json output (stable keys, rates included). */
export function snapshotJson(snap: Snapshot, rates?: RateTracker) {
  const h = snap.history;
  const stopped = leftStopped(snap);
  const fromHistory = !snap.progress && !!h && h.phase !== 'ended';
  return {
    workflowId: snap.workflowId,
    runId: snap.runId,
    status: snap.status,
    phase: snap.progress?.phase ?? (fromHistory ? h!.phase : null),
    /** "query": the workflow answered; "history": derived from the run's history (no worker answered). */
    stateFrom: snap.progress ? 'query' : fromHistory ? 'history' : null,
    target: snap.target ?? snap.progress?.target ?? h?.target ?? null,
    currentStep: snap.progress?.currentStep ?? (fromHistory ? h!.currentStep : undefined) ?? snap.step ?? null,
    outcome: shownOutcome(snap.result, stopped) ?? (stopped ? 'failed' : undefined) ?? snap.outcome ?? null,
    endReason: endReasonOf(snap) ?? null,
    startTime: snap.startTime,
    closeTime: snap.closeTime ?? null,
    steps: snap.progress?.steps ?? (fromHistory ? h!.steps : null),
    waiting: snap.progress?.waiting ?? (fromHistory ? h!.waiting : undefined) ?? null,
    approval: snap.progress?.approval ?? (fromHistory ? h!.approval : undefined) ?? null,
    activities: snap.activities.map((a) => ({ ...a, rate: rates?.rate(a.activityId) ?? null })),
    /**
     * The target's Solid Queue workers as this run knows them (contract WorkersState), null for a run recorded by an
     * older version that did not record them.
     */
    workers: workersOf(snap) ?? null,
    workersStillStopped: stopped ?? null,
    /** Workers of this runbook polling the run's task queue (pollers judged by the heartbeat timeout). */
    pollers: snap.pollers ?? null,
    noWorker: snap.noWorker ?? null,
    history: fromHistory
      ? {
          why: h!.why,
          lastCompleted: h!.lastCompleted ?? null,
          signals: h!.signals,
          workflowTaskWaitingSince: h!.workflowTaskWaitingSince ?? null,
        }
      : null,
    progressError: snap.progressError ?? null,
    result: snap.result ?? null,
    failure: snap.failure ?? null,
    exitCode: exitCodeFor(snap),
  };
}
