/**
 * How a workflow runs a destructive procedure's steps (the reset runbook and the restore share it):
 * each step's activity tried up to `maximumAttempts` times (every attempt counted where every view
 * sees it), then, if it still fails, the workers brought back and the run waiting for an operator's
 * "retry" or "abort". From the moment the workers are stopped, whatever ends the run first starts
 * them again, within the restart budget; `workers` is the one record every ending reads.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  isCancellation,
  log,
  patched,
  rootCause,
  sleep,
} from '@temporalio/workflow';
import type { RunSettings, StepName } from '../contract';
import { restartBudget, retryDelayMs } from './activities';
import { AbortRequested, Operator } from './operator';
import { RunProgress, workersStillStoppedMessage } from './progress';
import { inStepSpan } from './tracing';

export interface WorkerControls {
  stopWorkers: (args: { target: string }) => Promise<unknown>;
  /** One attempt, cut off at `seconds` (what is left of the restart budget). */
  restartWorkers: (seconds: number) => (args: { target: string }) => Promise<unknown>;
}

export interface StepOptions<T> {
  needsWorkersStopped?: boolean;
  beforeStop?: () => Promise<void>;
  detail?: (r: T) => string;
}

export class StepRunner {
  constructor(
    private readonly target: string,
    private readonly s: RunSettings,
    private readonly progress: RunProgress,
    private readonly operator: Operator,
    private readonly act: WorkerControls,
  ) {}

  private get workers() {
    return this.progress.state.workers;
  }

  /** Stopped by this run and not yet known to be running again: every ending consults this. */
  stoppedByUs(): boolean {
    const w = this.workers.status;
    return w === 'stopped' || w === 'restarting' || w === 'still-stopped';
  }

  /**
   * None was alive before and the target says to leave them so (whenNoneAliveBefore "leave"): neither
   * the start step nor compensation starts them; the run ends with them stopped, as they were.
   */
  leaveStopped(): void {
    this.workers.status = 'left-stopped';
    this.progress.publish();
  }

  stopWorkers(): Promise<unknown> {
    return this.step('stopWorkers', () => this.act.stopWorkers({ target: this.target }));
  }

  /**
   * Step 5: the workers this run stopped are started again (or left stopped on purpose). `note` says why
   * it runs where it does (before the purge, workers.startBeforePurge). From here on the workers are not
   * stopped by this run: a later step's pause and every ending leave them alone.
   */
  async startWorkers(start: () => Promise<{ alive: number }>, note = ''): Promise<void> {
    const { s, progress } = this;
    if (this.stoppedByUs() && s.startWorkersAtEnd === false) {
      this.leaveStopped();
      progress.skipped(
        'startWorkers',
        `left stopped: none was alive before the reset (workers.whenNoneAliveBefore "leave")${note}`,
      );
    } else if (this.stoppedByUs()) {
      await this.step('startWorkers', start, { detail: (w) => `${w.alive} process(es) alive${note}` });
      this.markRunning();
    } else progress.skipped('startWorkers', s.workersConfigured ? 'workers already running' : 'no workers configured');
  }

  /**
   * Started again by this run (step 5 or compensation): the end of the workers-stopped window. No publish
   * of its own: a fleet child's report is a signal, and one more would not replay recorded histories.
   */
  private markRunning(): void {
    this.workers.status = 'running';
    this.workers.startedAgainAt = new Date().toISOString();
  }

  /**
   * Runs one step: its activity up to `maximumAttempts` times (each attempt counted), then, if it still
   * fails, brings the workers back and waits for an operator's "retry" or "abort".
   */
  async step<T>(name: StepName, run: (lastHeartbeat?: unknown) => Promise<T>, opts: StepOptions<T> = {}): Promise<T> {
    const { s, progress, operator, workers } = this;
    for (;;) {
      operator.throwIfAborted();
      if (opts.needsWorkersStopped && !this.stoppedByUs()) {
        await opts.beforeStop?.();
        if (s.workersConfigured) await this.stopWorkers();
      }
      if (name === 'stopWorkers' && !this.stoppedByUs()) {
        // A half-done stop still needs undoing, so the workers count as stopped from here.
        workers.status = 'stopped';
        workers.stoppedSince = new Date().toISOString();
        workers.startedAgainAt = undefined;
        workers.startCommand = s.startCommand;
        workers.restart = undefined;
      }
      progress.started(name);
      try {
        // The abortable scope covers the attempts and the pauses between them: an abort stops either.
        const r = await operator.abortable(() => this.attempts(name, run));
        progress.finished(name, opts.detail?.(r));
        return r;
      } catch (err) {
        if (isCancellation(err) || err instanceof AbortRequested) throw err;
        const message = messageOf(err);
        log.warn('Step failed after its attempts; waiting for an operator', { step: name, error: message });
        const restart = this.stoppedByUs() && name !== 'startWorkers' && s.startWorkersAtEnd !== false;
        if (restart) {
          progress.failed(name, message);
          await this.restartWorkers(`while "${name}" waits for an operator`);
        }
        progress.paused(name, message, restart);
        await operator.decide();
      }
    }
  }

  /** The workflow's own retries: an abort is seen between attempts, and the step's state counts each one. */
  private async attempts<T>(name: StepName, run: (lastHeartbeat?: unknown) => Promise<T>): Promise<T> {
    const { s, progress, operator } = this;
    let lastHeartbeat: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        return await inStepSpan(this.target, name, attempt, () => run(lastHeartbeat));
      } catch (err) {
        if (isCancellation(err) || !retryable(err) || attempt >= s.maximumAttempts) throw err;
        // A killed worker's last heartbeat says where it was (the purge resumes from it).
        if (
          err instanceof ActivityFailure &&
          err.cause instanceof TimeoutFailure &&
          err.cause.lastHeartbeatDetails !== undefined
        )
          lastHeartbeat = err.cause.lastHeartbeatDetails;
        // A lost worker (no heartbeat for the heartbeat timeout) already cost that wait: the next
        // attempt starts at once on a live worker, so the run moves again within the heartbeat
        // timeout plus the sticky queue's 2 s. Other failures keep the back-off (the cause may need time).
        // Patched: histories recorded before keep their timer on replay.
        if (!(lostWorker(err) && patched('retry-at-once-after-lost-worker')))
          await condition(() => Boolean(operator.aborted), retryDelayMs(attempt));
        operator.throwIfAborted();
        progress.retrying(name, attempt + 1, s.maximumAttempts, messageOf(err));
      }
    }
  }

  /**
   * Compensation: start the workers again, within the restart budget, counting attempts where every
   * view sees them. Runs to its end even when the run is cancelled or aborted meanwhile; throws
   * WorkersStillStopped when the budget is spent.
   */
  async restartWorkers(why: string): Promise<void> {
    const { s, progress, workers } = this;
    await CancellationScope.nonCancellable(async () => {
      log.info(`Restarting workers ${why}`);
      progress.phase('compensating');
      const { budgetMs, maxAttempts } = restartBudget(s);
      const deadline = Date.now() + budgetMs;
      workers.status = 'restarting';
      workers.restart = { attempt: 0, maxAttempts, deadline: new Date(deadline).toISOString() };
      for (let attempt = 1; attempt <= maxAttempts && Date.now() < deadline; attempt++) {
        workers.restart = { ...workers.restart, attempt };
        progress.publish();
        try {
          await this.act.restartWorkers(Math.ceil((deadline - Date.now()) / 1000))({ target: this.target });
          progress.metrics.restartAttempt(true);
          this.markRunning();
          progress.publish();
          return;
        } catch (err) {
          const error = messageOf(err);
          progress.metrics.restartAttempt(false);
          workers.restart = { ...workers.restart, lastError: error };
          log.warn('Restarting the workers failed', { attempt, maxAttempts, error });
          progress.publish();
          if (!retryable(err)) break;
          const left = deadline - Date.now();
          if (attempt < maxAttempts && left > 0) await sleep(Math.min(retryDelayMs(attempt), left));
        }
      }
      workers.status = 'still-stopped';
      progress.publish();
      throw new WorkersStillStopped(workersStillStoppedMessage(workers));
    });
  }

  /**
   * Before any ending other than success: the workers this run stopped are started again (or left
   * stopped on purpose). Returns true when they are still stopped (compensation spent its budget).
   */
  async compensate(): Promise<boolean> {
    if (this.stoppedByUs() && this.workers.status !== 'still-stopped' && this.s.startWorkersAtEnd === false)
      this.leaveStopped();
    else if (this.stoppedByUs() && this.workers.status !== 'still-stopped') {
      // Compensation runs even when the run itself was cancelled (restartWorkers is non-cancellable).
      await this.restartWorkers('before the run ends').catch((e) => {
        if (!(e instanceof WorkersStillStopped)) throw e;
      });
    }
    return this.workers.status === 'still-stopped';
  }
}

/** Compensation spent its budget: the run ends saying so. */
export class WorkersStillStopped extends Error {}

/** The attempt's worker stopped heartbeating: killed, or its host lost. */
function lostWorker(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'HEARTBEAT';
}

/**
 * What an activity reported, however it ran: a regular activity's failure arrives wrapped in an ActivityFailure, a
 * local activity's (the plan, the verify, the lock: activities.ts) as its own ApplicationFailure or TimeoutFailure.
 * undefined: not an activity's failure (the workflow's own).
 */
export function activityFailure(err: unknown): Error | undefined {
  if (err instanceof ActivityFailure) return err.cause ?? err;
  if (err instanceof ApplicationFailure || err instanceof TimeoutFailure) return err;
  return undefined;
}

/** Whether the workflow should try an activity again: not when it said its failure is final. */
export function retryable(err: unknown): boolean {
  const cause = activityFailure(err);
  return cause !== undefined && !(cause instanceof ApplicationFailure && cause.nonRetryable);
}

/**
 * The activity's own error, not the wrapper's; rootCause gives no text for a thrown non-Error, and every view needs
 * one.
 */
export function messageOf(err: unknown): string {
  return rootCause(err) ?? String(err);
}
