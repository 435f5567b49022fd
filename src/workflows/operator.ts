/**
 * Where the run waits for a person: the approval before anything destructive, and the pause after
 * a step failed its retries. Signals only set state here; the runbook decides what happens next.
 */
import { ApplicationFailure, CancellationScope, condition, setHandler } from '@temporalio/workflow';
import {
  abortSignal,
  approveSignal,
  checkApproval,
  retrySignal,
  type AbortArgs,
  type Approvable,
  type ApproveArgs,
} from '../contract';
import { notify } from './notify';
import type { RunProgress } from './progress';

/** Thrown inside the workflow when an operator aborts; the runbook compensates, then fails the run. */
export class AbortRequested extends Error {
  constructor(public readonly by: AbortArgs) {
    super(`Aborted by ${by.by ?? 'an operator'}${by.reason ? `: ${by.reason}` : ''}`);
  }
}

/** What an approval binds to: a reset's plan, or a restore's (issue 8). */

export class Operator {
  private approval?: ApproveArgs;
  private rejectedApprovals: string[] = [];
  private retryRequested = false;
  private abort?: AbortArgs;
  private plan?: Approvable;
  /** The scopes of the steps in flight: an abort cancels them, so it reaches the running activity. */
  private inFlight = new Set<CancellationScope>();

  constructor(private readonly progress: RunProgress) {
    setHandler(approveSignal, (a) => {
      // A wrong confirmation is recorded, not fatal: the person can type it again.
      const problem = this.plan ? checkApproval(this.plan, a) : 'no plan to approve yet';
      if (problem) this.rejectedApprovals.push(problem);
      else this.approval = a;
    });
    setHandler(retrySignal, () => {
      this.retryRequested = true;
    });
    setHandler(abortSignal, (a) => {
      if (this.abort) return; // the first abort is the one acted on
      this.abort = a ?? {};
      this.progress.state.abortRequested = {
        by: this.abort.by,
        reason: this.abort.reason,
        at: new Date().toISOString(),
      };
      this.progress.publish();
      for (const scope of this.inFlight) scope.cancel();
    });
  }

  get aborted(): AbortArgs | undefined {
    return this.abort;
  }

  throwIfAborted(): void {
    if (this.abort) throw new AbortRequested(this.abort);
  }

  /**
   * Runs a step's work so that an abort stops it mid-way: the activity is cancelled (it kills its
   * processes, cancels its statement and rolls back; activities.ts waits until it has), and the
   * cancellation becomes AbortRequested, so the runbook compensates and ends "aborted" as for an
   * abort between steps. A cancellation of the whole run stays a cancellation.
   */
  async abortable<T>(work: () => Promise<T>): Promise<T> {
    this.throwIfAborted();
    const scope = new CancellationScope();
    this.inFlight.add(scope);
    try {
      return await scope.run(work);
    } catch (err) {
      // Whatever the step ended with once an abort was asked for (its cancellation, or a failure of
      // its own on the way out), the operator's decision is made: no pause, no retry.
      if (this.abort) throw new AbortRequested(this.abort);
      throw err;
    } finally {
      this.inFlight.delete(scope);
    }
  }

  /** Waits for an approve signal that names the database (and the second confirmation for high risk). */
  async approve(plan: Approvable, timeoutMs: number): Promise<ApproveArgs> {
    this.plan = plan;
    const since = new Date();
    this.progress.state.approval = {
      database: plan.databaseName,
      highRisk: plan.highRisk,
      since: since.toISOString(),
      deadline: new Date(since.getTime() + timeoutMs).toISOString(),
      planDigest: plan.digest,
    };
    this.progress.phase('awaiting-approval');
    const step = this.progress.step('approval');
    step.status = 'running';
    step.startedAt = since.toISOString();
    step.attempts = 1;
    step.detail = `waiting for signal "approve" with {"confirmation": "${plan.databaseName}"${plan.highRisk ? `, "highRiskConfirmation": "REBUILD ${plan.databaseName}"` : ''}}`;
    this.progress.publish();
    void notify('waitingForApproval', this.progress.state); // not awaited: the deadline runs from `since`
    let seen = 0;
    const got = await condition(() => {
      if (this.rejectedApprovals.length > seen) {
        seen = this.rejectedApprovals.length;
        step.error = `rejected approval: ${this.rejectedApprovals[seen - 1]}`;
        this.progress.publish();
      }
      return Boolean(this.approval || this.abort);
    }, timeoutMs);
    this.throwIfAborted();
    if (!got) {
      step.status = 'failed';
      step.error = 'no approval before the deadline';
      throw ApplicationFailure.nonRetryable(
        `No approval within ${humanDuration(timeoutMs)}; the run ends having changed nothing (a backup was taken).`,
        'ApprovalTimedOut',
      );
    }
    step.status = 'done';
    step.endedAt = new Date().toISOString();
    step.error = undefined;
    step.detail = `approved by ${this.approval!.by ?? 'an operator'}`;
    this.progress.publish();
    return this.approval!;
  }

  /** After a step failed its retries: wait for "retry" (returns) or "abort" (throws). */
  async decide(): Promise<void> {
    this.retryRequested = false;
    void notify('waitingForOperator', this.progress.state); // not awaited: a signal may come at once
    await condition(() => this.retryRequested || Boolean(this.abort));
    this.throwIfAborted();
    this.retryRequested = false;
  }
}

function humanDuration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} seconds`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} minutes`;
  return `${Math.round(ms / 3_600_000)} hours`;
}
