/**
 * How a reset or a restore ends. Every ending goes through one Ending, so the result, what every view
 * reads (steps, phase, search attributes), the last notification and the failure thrown agree; once
 * things may have changed, the workers come back first and workers left stopped outrank any other reason.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  rootCause,
} from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import {
  PLAN_DEFAULTS,
  type EndReason,
  type FailureType,
  type NotifyEvent,
  type Phase,
  type ResetResult,
  type RunSettings,
} from '../contract';
import { lockActivities } from './activities';
import { AbortRequested, RejectRequested } from './operator';
import { workersStillStoppedMessage, type RunProgress } from './progress';
import { messageOf, retryable, WorkersStillStopped, type StepRunner } from './steps';

/** What a run's result says about its ending; a reset's and a restore's results alike. */
type Ended = Pick<ResetResult, 'outcome' | 'endReason' | 'message' | 'workers' | 'stepDurationsMs'>;

export interface EndingOptions {
  /** The run's name in its failures' messages: `<label> of "<target>" …`. */
  label: 'Reset' | 'Restore';
  refusedType: FailureType;
  abortedType: FailureType;
  /** Tells the target's webhooks how the run ended (the reset does, the restore does not). */
  notify?: (event: NotifyEvent) => Promise<void>;
}

export class Ending<R extends Ended> {
  constructor(
    private readonly target: string,
    private readonly progress: RunProgress,
    readonly result: R,
    private readonly opts: EndingOptions,
  ) {}

  /** Outcome, reason, phase, every step and the workers' state agree. */
  end(outcome: Ended['outcome'], endReason: EndReason, phase: Phase, message?: string): R {
    const { progress } = this;
    progress.ended(message ?? endReason, endReason);
    progress.phase(phase);
    Object.assign(this.result, {
      outcome,
      endReason,
      message,
      workers: { ...progress.state.workers },
      stepDurationsMs: progress.durations(),
    });
    progress.outcome(outcome);
    progress.metrics.ended(outcome, endReason, progress.state.steps, this.result.stepDurationsMs ?? {});
    return this.result;
  }

  /** The plan failed, nothing was touched; returns the message that says why. */
  planFailed(err: unknown): string {
    const message = messageOf(err);
    // The plan was retried (planOptions): its row counts every attempt, not the one failure seen here. A local
    // activity's failure carries no retry state: one the policy retries was retried until its last attempt.
    const exhausted =
      err instanceof ActivityFailure ? err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED : retryable(err);
    if (exhausted) this.progress.step('plan').attempts = PLAN_DEFAULTS.maximumAttempts;
    this.progress.failed('plan', message);
    this.end('failed', 'planFailed', 'failed', message);
    return message;
  }

  /** The failure to throw when the run refuses before touching anything. */
  refused(why: string): ApplicationFailure {
    this.end('rejected', 'refused', 'failed', why);
    return this.failure(this.opts.refusedType, ` refused; nothing was touched: ${why}`);
  }

  /** A failure of this run with its result in the details; `rest` follows `<label> of "<target>"`. */
  failure(type: FailureType, rest: string): ApplicationFailure {
    return ApplicationFailure.nonRetryable(`${this.opts.label} of "${this.target}"${rest}`, type, this.result);
  }

  async completed(message?: string): Promise<R> {
    const done = this.end('completed', 'completed', 'completed', message);
    if (this.opts.notify) await this.opts.notify('completed');
    return done;
  }

  /**
   * Any other ending after the plan: the workers are started again (or left stopped on purpose), then
   * `afterCompensation` runs; returns what to throw, the result riding on it.
   */
  async failed(err: unknown, runner: StepRunner, afterCompensation?: () => Promise<void>): Promise<unknown> {
    await runner.compensate();
    if (afterCompensation) await afterCompensation();
    const { notify } = this.opts;
    if (this.progress.state.workers.status === 'still-stopped') {
      const msg = workersStillStoppedMessage(this.progress.state.workers);
      log.error(msg, err instanceof WorkersStillStopped ? {} : { endedBecause: messageOf(err) });
      this.end('failed', 'workersStillStopped', 'failed', msg);
      if (notify) await notify('workersStillStopped');
      return ApplicationFailure.nonRetryable(msg, 'CompensationFailed', this.result);
    }
    if (err instanceof RejectRequested) {
      // Said no before anything destructive: not a failure of the run, and nothing to undo.
      (this.result as Ended & Pick<ResetResult, 'rejectedBy'>).rejectedBy = err.by;
      this.end('rejected', 'rejected', 'failed', err.message);
      if (notify) await notify('rejected');
      return this.failure('RunRejected', ` ${err.message}`);
    }
    if (err instanceof AbortRequested) {
      this.end('aborted', 'aborted', 'aborted', err.message);
      if (notify) await notify('aborted');
      return this.failure(this.opts.abortedType, ` ${err.message}`);
    }
    if (isCancellation(err)) this.end('failed', 'cancelled', 'cancelled', 'the run was cancelled');
    else
      this.end(
        'failed',
        err instanceof ApplicationFailure && err.type === 'ApprovalTimedOut' ? 'approvalTimedOut' : 'stepFailed',
        'failed',
        messageOf(err),
      );
    if (notify) await notify('failed');
    // The result rides on the failure, so every view reads the same ending (outcome, endReason, workers).
    if (err instanceof ApplicationFailure && !err.details?.length)
      return ApplicationFailure.create({
        message: err.message,
        type: err.type ?? undefined,
        nonRetryable: true,
        details: [this.result],
      });
    return err;
  }
}

/**
 * Whatever the ending, the databases are given back; if that fails, the next run's refusal names this run. `local`:
 * as the run took them (lockActivities).
 */
export async function releaseLock(s: RunSettings, target: string, runId: string, local = false): Promise<void> {
  await CancellationScope.nonCancellable(() =>
    lockActivities(s, local).releaseResetLock({ target, owner: { runId } }),
  ).catch((e) => log.error('Could not release the reset lock', { error: rootCause(e) }));
}
