/**
 * The run's visible state: what the `progress` query answers, what the Web UI shows as the run's
 * current details, and the search attributes operators filter by.
 */
import {
  getExternalWorkflowHandle,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  childReportSignal,
  type ChildReport,
  progressQuery,
  OUTCOME_KEY,
  STEP_KEY,
  TARGET_KEY,
  STEP_TITLES,
  stepsOf,
  type EndReason,
  type Mode,
  type Phase,
  type Progress,
  type StepName,
  type StepState,
  type WorkersState,
} from '../contract';
import { RunMetrics, type Kind } from './metrics';

const ORDER: StepName[] = stepsOf('reset');

export class RunProgress {
  readonly state: Progress;
  readonly metrics: RunMetrics;

  /** `order`: another procedure's steps (the restore's); default the runbook's. */
  constructor(target: string, mode: Mode, order: StepName[] = ORDER, kind: Kind = 'reset') {
    const steps = (mode === 'plan' ? order.slice(0, 1) : order).map((name): StepState => ({
      name,
      title: STEP_TITLES[name],
      status: 'pending',
      attempts: 0,
    }));
    this.state = { target, mode, phase: 'planning', steps, workers: { status: 'untouched' } };
    this.metrics = new RunMetrics(target, kind);
    this.metrics.started(mode);
    setHandler(progressQuery, () => this.state);
    upsertSearchAttributes([{ key: TARGET_KEY, value: target }]);
    this.publish();
  }

  /** Lists step `name` just before step `before` (a run that takes its steps in another order says so). */
  moveBefore(name: StepName, before: StepName): void {
    const steps = this.state.steps;
    const moved = steps.splice(
      steps.findIndex((s) => s.name === name),
      1,
    );
    steps.splice(
      steps.findIndex((s) => s.name === before),
      0,
      ...moved,
    );
  }

  step(name: StepName): StepState {
    return this.state.steps.find((s) => s.name === name)!;
  }

  started(name: StepName, detail?: string): void {
    const s = this.step(name);
    s.status = 'running';
    s.attempts++;
    s.startedAt = new Date().toISOString();
    s.endedAt = undefined;
    s.error = undefined;
    s.detail = detail;
    this.state.currentStep = name;
    this.state.waiting = undefined;
    if (name !== 'plan') this.state.phase = 'running';
    upsertSearchAttributes([{ key: STEP_KEY, value: name }]);
    this.publish();
  }

  /** The workflow tries the step's activity again after a retryable failure: one more attempt. */
  retrying(name: StepName, attempt: number, maxAttempts: number, lastError: string): void {
    const s = this.step(name);
    s.attempts++;
    s.detail = `attempt ${attempt}/${maxAttempts}; the last one failed: ${lastError}`;
    this.publish();
  }

  finished(name: StepName, detail?: string): void {
    const s = this.step(name);
    s.status = 'done';
    s.endedAt = new Date().toISOString();
    s.detail = detail; // not the last failed attempt's note
    this.publish();
  }

  skipped(name: StepName, why: string): void {
    const s = this.step(name);
    s.status = 'skipped';
    s.detail = why;
    this.publish();
  }

  failed(name: StepName, error: string): void {
    const s = this.step(name);
    s.status = 'failed';
    s.endedAt = new Date().toISOString();
    s.error = error;
    this.publish();
  }

  /** The step failed its attempts; the run waits for "retry" or "abort". */
  paused(name: StepName, error: string, workersRestarted: boolean): void {
    const s = this.step(name);
    s.status = 'waiting-for-operator';
    s.endedAt = new Date().toISOString();
    s.error = error;
    this.state.phase = 'waiting-for-operator';
    this.state.waiting = { step: name, error, since: s.endedAt, signals: ['retry', 'abort'], workersRestarted };
    this.publish();
  }

  /**
   * The run ends: no step may still look alive. A step in flight or waiting for an operator failed
   * (its error kept, the ending said beside it); a step never reached says so.
   */
  ended(how: string, endReason?: EndReason): void {
    const now = new Date().toISOString();
    // Steps after a failure were not reached because of that failure, not because of the ending it led to.
    const broke = this.state.steps.find(
      (s) => s.status === 'running' || s.status === 'waiting-for-operator' || s.status === 'failed',
    );
    const why = endReason === 'workersStillStopped' && broke ? `the run ended after "${broke.title}" failed` : how;
    const workers = this.state.workers.status;
    for (const s of this.state.steps) {
      if (s.status === 'running' || s.status === 'waiting-for-operator') {
        s.status = 'failed';
        s.endedAt = now;
        s.error = s.error ? `${s.error} (then: ${how})` : how;
      } else if (s.status === 'pending') {
        s.status = 'skipped';
        // Step 5 is where people look for the workers: say what became of them.
        if (s.name === 'startWorkers' && workers === 'running')
          s.detail = `not run as a step: the run had started the workers again (compensation); it ended: ${why}`;
        else if (s.name === 'startWorkers' && workers === 'still-stopped')
          s.detail = 'not run as a step: starting the workers again (compensation) failed: WORKERS ARE STILL STOPPED';
        else s.detail = `not reached: ${why}`;
      }
    }
    this.publish();
  }

  phase(p: Phase): void {
    this.state.phase = p;
    if (p !== 'waiting-for-operator') this.state.waiting = undefined;
    if (p !== 'awaiting-approval') this.state.approval = undefined;
    this.publish();
  }

  outcome(outcome: string): void {
    upsertSearchAttributes([{ key: OUTCOME_KEY, value: outcome }]);
  }

  durations(): Partial<Record<StepName, number>> {
    const out: Partial<Record<StepName, number>> = {};
    for (const s of this.state.steps)
      if (s.startedAt && s.endedAt) out[s.name] = Date.parse(s.endedAt) - Date.parse(s.startedAt);
    return out;
  }

  /** The Web UI shows this as the run's current details: the runbook, ticked off as it goes. */
  publish(): void {
    const mark: Record<string, string> = {
      pending: '[ ]',
      running: '[>]',
      done: '[x]',
      failed: '[!]',
      'waiting-for-operator': '[?]',
      skipped: '[-]',
    };
    const lines = this.state.steps.map(
      (s) => `${mark[s.status]} ${s.title}${s.detail ? ` — ${s.detail}` : ''}${s.error ? ` — ERROR: ${s.error}` : ''}`,
    );
    const head = `**${this.state.target}** (${this.state.mode}): ${this.state.phase}`;
    const tail = this.state.waiting
      ? ['', `Waiting for an operator: signal "retry" to run "${this.state.waiting.step}" again, or "abort".`]
      : [];
    const w = this.state.workers;
    if (w.status === 'restarting' && w.restart)
      tail.push(
        '',
        `Restarting the workers, attempt ${w.restart.attempt}/${w.restart.maxAttempts} (gives up at ${w.restart.deadline}).`,
      );
    if (w.status === 'still-stopped') tail.push('', workersStillStoppedMessage(w));
    setCurrentDetails([head, '', ...lines, ...tail].join('\n'));
    this.metrics.observe(this.state);
    this.reportToFleet();
  }

  private lastReport?: string;
  /** How many reports this run has sent its fleet: their order (signals sent at once may arrive in any order). */
  private reportsSent = 0;

  /**
   * A run started by a fleet tells it where it is whenever its phase, step or workers change, so the
   * fleet's progress and Web UI show every child's step (a workflow cannot query another). Fire and
   * forget: a fleet that has gone away must never hold up or fail a reset.
   */
  private reportToFleet(): void {
    const parent = workflowInfo().parent;
    if (!parent) return;
    const s = this.state;
    const step = s.currentStep ? this.step(s.currentStep) : undefined;
    const detail = s.waiting
      ? `waiting for an operator after "${STEP_TITLES[s.waiting.step]}" failed: ${s.waiting.error} (reset-runbook resume|abort ${workflowInfo().workflowId})`
      : s.phase === 'awaiting-approval'
        ? `waiting for its own approval: reset-runbook approve ${workflowInfo().workflowId}`
        : step?.detail;
    const report: ChildReport = {
      target: s.target,
      runId: workflowInfo().runId,
      phase: s.phase,
      workers: s.workers.status,
      ...(step ? { step: step.name, stepStatus: step.status } : {}),
      ...(detail ? { detail } : {}),
    };
    const key = JSON.stringify(report);
    if (key === this.lastReport) return;
    this.lastReport = key;
    if (!patched('fleet-child-reports')) return;
    getExternalWorkflowHandle(parent.workflowId, parent.runId)
      .signal(childReportSignal, { ...report, seq: ++this.reportsSent })
      .catch(() => undefined);
  }
}

/** The one sentence every view shows when a run leaves the workers stopped. */
export function workersStillStoppedMessage(w: WorkersState): string {
  return `WORKERS ARE STILL STOPPED since ${w.stoppedSince ?? '(unknown)'} — start them by hand: ${w.startCommand ?? "the target's workers.start command"}`;
}
