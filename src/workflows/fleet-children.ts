/**
 * A fleet's children: one `productionDataReset` per target, under the target's own id
 * `reset-<target>` (so the server refuses it while another reset of that target runs), each with
 * the rules of a single reset intact — the child plans again, asks for its own approval where the
 * target needs one, and compensates on its own. The fleet only starts them, reads how they end, and
 * passes an abort on.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ParentClosePolicy,
  TerminatedFailure,
  startChild,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  WORKFLOW_TASK_TIMEOUT,
  WORKFLOW_TYPE,
  abortSignal,
  type AbortArgs,
  type ResetInput,
  type ResetResult,
  type FleetTarget,
} from '../contract';
import type { CheckedFleetInput } from './fleet-input';
import type { FleetState } from './fleet-progress';
import { messageOf } from './steps';

/**
 * What a child is told: the database name as confirmation where the fleet's approval covers it, nothing where its own
 * is needed; and who started the fleet, so the child's own approval follows the target's self-approval rule for that
 * person. No patch: fleets from before `startedBy` existed have none in their input (it was an unknown field, refused),
 * so their children's inputs are what they were.
 */
export function childInput(fleet: CheckedFleetInput, t: FleetTarget): ResetInput {
  const covered = t.plan && !t.plan.ownApproval;
  return {
    target: t.target,
    mode: 'execute',
    reason: `fleet ${fleet.name}${fleet.schedule ? ` (schedule ${fleet.schedule})` : ''}${fleet.reason ? `: ${fleet.reason}` : ''}`,
    ...(covered ? { confirmation: t.plan!.databaseName } : {}),
    ...(fleet.approvalTimeout ? { approvalTimeout: fleet.approvalTimeout } : {}),
    ...(fleet.startedBy ? { startedBy: fleet.startedBy } : {}),
  };
}

export class Children {
  private handles = new Map<string, ChildWorkflowHandle<() => Promise<ResetResult>>>();
  private running: Promise<void>[] = [];

  constructor(private readonly fleet: FleetState) {}

  /** Starts the child and follows it to its end in the background; the fleet's state says how it went. */
  start(t: FleetTarget, input: ResetInput): void {
    t.status = 'running';
    t.startedAt = new Date().toISOString();
    t.detail = 'starting';
    this.fleet.publish();
    // Not cancellable: a cancelled fleet aborts its children (abortAll) and waits for them, so every
    // child compensates and is listed; a terminated fleet still cancels them (ParentClosePolicy).
    this.running.push(CancellationScope.nonCancellable(() => this.follow(t, input)));
  }

  private async follow(t: FleetTarget, input: ResetInput): Promise<void> {
    let result: ResetResult | undefined;
    try {
      const handle = await startChild<() => Promise<ResetResult>>(WORKFLOW_TYPE, {
        workflowId: t.workflowId,
        args: [input] as unknown as [],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
      });
      t.runId = handle.firstExecutionRunId;
      this.handles.set(t.target, handle);
      this.fleet.publish();
      if (this.abortedWith) await this.signalAbort(t, this.abortedWith);
      result = await handle.result();
    } catch (err) {
      result = resultOf(err);
      if (!result) return this.endedWithout(t, err);
    } finally {
      this.handles.delete(t.target);
    }
    t.outcome = result.outcome;
    t.endReason = result.endReason;
    t.workers = result.workers?.status ?? t.workers;
    if (result.workers?.startCommand) t.startCommand = result.workers.startCommand;
    if (result.workers?.stoppedSince) t.workersStoppedSince = result.workers.stoppedSince;
    t.restoreCommand = result.restoreCommand;
    t.status = result.outcome === 'completed' ? 'completed' : result.outcome === 'aborted' ? 'aborted' : 'failed';
    t.phase = result.outcome === 'completed' ? 'completed' : result.outcome === 'aborted' ? 'aborted' : 'failed';
    t.detail =
      result.outcome === 'completed' ? (result.verify?.report.replace(/\n/g, ', ') ?? 'completed') : result.message;
    t.endedAt = new Date().toISOString();
    this.fleet.publish();
  }

  /** A child with no result to read: never started (the target is busy), or terminated. */
  private endedWithout(t: FleetTarget, err: unknown): void {
    t.status = 'failed';
    t.endedAt = new Date().toISOString();
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      t.outcome = 'rejected';
      t.endReason = 'refused';
      t.detail = `another reset of "${t.target}" is running (${t.workflowId}); this fleet did not start one`;
    } else if (err instanceof ChildWorkflowFailure && err.cause instanceof TerminatedFailure) {
      t.outcome = 'failed';
      t.detail = `its run was terminated (no compensation ran): its workers may still be stopped — check with: reset-runbook status ${t.workflowId}`;
    } else {
      t.outcome = 'failed';
      t.detail = messageOf(err);
    }
    this.fleet.publish();
  }

  private abortedWith?: AbortArgs;

  /**
   * Every running child gets the abort (so it compensates: workers started again); one started later gets it at once.
   */
  async abortAll(by: AbortArgs): Promise<void> {
    this.abortedWith = by;
    await CancellationScope.nonCancellable(() =>
      Promise.all([...this.handles.keys()].map((name) => this.signalAbort(this.fleet.target(name)!, by))),
    );
  }

  async abort(t: FleetTarget, by: AbortArgs): Promise<void> {
    await CancellationScope.nonCancellable(() => this.signalAbort(t, by));
  }

  private async signalAbort(t: FleetTarget, by: AbortArgs): Promise<void> {
    const h = this.handles.get(t.target);
    // A child that has just ended cannot take the signal; its result is what counts.
    await h?.signal(abortSignal, by).catch(() => undefined);
  }

  /** Waits until every child started so far has ended. */
  async settled(): Promise<void> {
    await CancellationScope.nonCancellable(() => Promise.all(this.running));
  }
}

/** The ResetResult a child's failure carries (the runbook puts it in the failure's details). */
function resultOf(err: unknown): ResetResult | undefined {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : undefined;
  const d = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  return d && typeof d === 'object' && 'outcome' in d ? (d as ResetResult) : undefined;
}
