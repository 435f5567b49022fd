/**
 * Where the run waits for a person: the approval before anything destructive, and the pause after
 * a step failed its retries. Signals only set state here; the runbook decides what happens next.
 */
import { ApplicationFailure, CancellationScope, condition, setHandler, sleep } from '@temporalio/workflow';
import {
  abortSignal,
  approveSignal,
  checkApproval,
  describeApprovals,
  isPlainApproval,
  rejectSignal,
  retrySignal,
  type AbortArgs,
  type Approvable,
  type ApprovalPolicy,
  type ApproveArgs,
  type ResetResult,
} from '../contract';
import { ApprovalBook } from './approvals';
import { notify } from './notify';
import type { RunProgress } from './progress';

/** Thrown inside the workflow when an operator aborts; the runbook compensates, then fails the run. */
export class AbortRequested extends Error {
  constructor(public readonly by: AbortArgs) {
    super(`Aborted by ${by.by ?? 'an operator'}${by.reason ? `: ${by.reason}` : ''}`);
  }
}

/** Thrown when a person rejects the run while it waits for approval: it ends "rejected", nothing touched. */
export class RejectRequested extends Error {
  constructor(public readonly by: NonNullable<ResetResult['rejectedBy']>) {
    super(`Rejected by ${by.identity ?? 'an operator'}${by.reason ? `: ${by.reason}` : ''}; nothing was touched`);
  }
}

export class Operator {
  private approval?: ApproveArgs;
  private rejectedApprovals: string[] = [];
  /** The four-eyes count of a run that has a policy; undefined in runs from before it (one approval). */
  private book?: ApprovalBook;
  private rejection?: RejectRequested['by'];
  /** Once approved, a reject comes too late: the run is past the point where saying no is free. */
  private approvedAlready = false;
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
      else if (this.book) this.book.offer(a, new Date().toISOString());
      else this.approval = a;
    });
    setHandler(rejectSignal, (r) => {
      if (this.rejection || this.approvedAlready) return;
      this.rejection = { identity: r?.identity, reason: r?.reason, at: new Date().toISOString() };
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

  private throwIfRejected(): void {
    if (this.rejection) throw new RejectRequested(this.rejection);
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

  /**
   * Waits for an approve signal that names the database (and the second confirmation for high risk); with a
   * policy (runs patched 'four-eyes'), for as many distinct valid approvals as it requires.
   */
  async approve(plan: Approvable, timeoutMs: number, policy?: ApprovalPolicy): Promise<ApproveArgs> {
    this.plan = plan;
    if (policy) return this.approveByPolicy(plan, timeoutMs, policy);
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
      return Boolean(this.approval || this.abort || this.rejection);
    }, timeoutMs);
    this.throwIfAborted();
    this.throwIfRejected();
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
    this.approvedAlready = true;
    this.progress.publish();
    return this.approval!;
  }

  /** The four-eyes wait: counts distinct valid approvals, says each refusal, tells the webhooks of each one counted. */
  private async approveByPolicy(plan: Approvable, timeoutMs: number, policy: ApprovalPolicy): Promise<ApproveArgs> {
    const book = new ApprovalBook(policy, plan.digest);
    this.book = book;
    const since = new Date();
    this.progress.state.approval = {
      database: plan.databaseName,
      highRisk: plan.highRisk,
      since: since.toISOString(),
      deadline: new Date(since.getTime() + timeoutMs).toISOString(),
      planDigest: plan.digest,
      required: policy.required,
      ...(policy.approvers?.length ? { approvers: policy.approvers } : {}),
      allowSelfApproval: policy.allowSelfApproval,
      ...(policy.startedBy ? { startedBy: policy.startedBy } : {}),
      approvals: book.counted,
      refused: book.refused,
    };
    this.progress.phase('awaiting-approval');
    const step = this.progress.step('approval');
    step.status = 'running';
    step.startedAt = since.toISOString();
    step.attempts = 1;
    const waitingFor = `signal "approve" with {"confirmation": "${plan.databaseName}"${plan.highRisk ? `, "highRiskConfirmation": "REBUILD ${plan.databaseName}"` : ''}${isPlainApproval(policy) ? '' : ', "identity": "<who>"'}}`;
    // A plain one-approval run keeps the words of runs before four-eyes (status, follow and the guides show them).
    const plain = isPlainApproval(policy);
    const detail = () =>
      plain ? `waiting for ${waitingFor}` : `${describeApprovals(policy, book.counted)}; waiting for ${waitingFor}`;
    step.detail = detail();
    this.progress.publish();
    void notify('waitingForApproval', this.progress.state); // not awaited: the deadline runs from `since`
    let seenBad = 0;
    let seenRefused = 0;
    let seenCounted = 0;
    // One deadline timer for the whole wait, as before four-eyes: `status` reads the approval's deadline from it.
    let timedOut = false;
    const deadlineScope = new CancellationScope();
    void deadlineScope
      .run(() => sleep(timeoutMs))
      .then(
        () => (timedOut = true),
        () => undefined,
      );
    try {
      for (;;) {
        await condition(
          () =>
            this.rejectedApprovals.length > seenBad ||
            book.refused.length > seenRefused ||
            book.counted.length > seenCounted ||
            timedOut ||
            Boolean(this.abort || this.rejection),
        );
        this.throwIfAborted();
        this.throwIfRejected();
        if (timedOut && !book.done) {
          step.status = 'failed';
          step.error = plain
            ? 'no approval before the deadline'
            : `no approval before the deadline (${describeApprovals(policy, book.counted)})`;
          throw ApplicationFailure.nonRetryable(
            plain
              ? `No approval within ${humanDuration(timeoutMs)}; the run ends having changed nothing (a backup was taken).`
              : `Not enough approvals within ${humanDuration(timeoutMs)} (${describeApprovals(policy, book.counted)}); the run ends having changed nothing (a backup was taken).`,
            'ApprovalTimedOut',
          );
        }
        if (this.rejectedApprovals.length > seenBad)
          step.error = `rejected approval: ${this.rejectedApprovals[this.rejectedApprovals.length - 1]}`;
        if (book.refused.length > seenRefused)
          step.error = `approval not counted: ${book.refused[book.refused.length - 1].why}`;
        seenBad = this.rejectedApprovals.length;
        seenRefused = book.refused.length;
        const newlyCounted = book.counted.length > seenCounted;
        seenCounted = book.counted.length;
        step.detail = !book.done
          ? detail()
          : plain
            ? `approved by ${book.last!.by ?? book.counted[0].identity}`
            : describeApprovals(policy, book.counted);
        this.progress.publish();
        if (book.done) break;
        // The others hear who approved and who is still needed.
        if (newlyCounted && !plain) void notify('approvalReceived', this.progress.state);
      }
    } finally {
      deadlineScope.cancel();
    }
    step.status = 'done';
    step.endedAt = new Date().toISOString();
    step.error = undefined;
    this.approvedAlready = true;
    this.progress.publish();
    const last = book.last!;
    return { ...last, by: book.counted.map((c) => c.identity).join(', ') };
  }

  /** The approvals a four-eyes wait counted (identity, time, plan digest); empty without a policy. */
  get approvals() {
    return this.book?.counted ?? [];
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
