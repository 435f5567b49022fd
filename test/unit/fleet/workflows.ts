/**
 * The workflows of the fleet's unit test (test/unit/fleet-workflow.test.ts): the real `resetFleet`,
 * and a FAKE `productionDataReset` whose behaviour its target's name chooses, so the fleet's logic
 * (limits, batches, abort, cancellation, the ending) is tested without the runbook's activities.
 *
 *   <kind><minutes>-<anything>, e.g. ok-a1, fail2-b1 (minutes: how long it "works"; default 10)
 *
 *   ok     completes after its minutes
 *   fail   ends failed (stepFailed) after its minutes, its ResetResult in the failure's details
 *   stuck  ends failed after its minutes, its workers still stopped (workersStillStopped)
 *   pause  pauses for an operator at once (waiting-for-operator, told to the fleet through the real
 *          childReport signal of RunProgress); "retry" runs it on to completion after its minutes
 *   prod   waits for its own "approve" signal, then completes after its minutes
 *
 * Every child records its start and its end through the `childEvent` activity (with its workflow
 * time), and honours "abort" at any moment by ending aborted, as the runbook does.
 */
import { ApplicationFailure, condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  abortSignal,
  approveSignal,
  retrySignal,
  type AbortArgs,
  type EndReason,
  type ResetInput,
  type ResetResult,
  type WorkersState,
} from '../../../src/contract';
import { RunProgress } from '../../../src/workflows/progress';

export { resetFleet } from '../../../src/workflows/fleet';

export interface ChildEvent {
  target: string;
  event: 'start' | 'end';
  /** Workflow time (ms). */
  at: number;
  input?: ResetInput;
  outcome?: ResetResult['outcome'];
  parent?: string;
}

const { childEvent } = proxyActivities<{ childEvent(e: ChildEvent): Promise<void> }>({ startToCloseTimeout: '10s' });

export async function productionDataReset(input: ResetInput): Promise<ResetResult> {
  const target = input.target;
  const m = /^([a-z]+)(\d*)-/.exec(target);
  const kind = m?.[1] ?? 'ok';
  const workMs = Number(m?.[2] || 10) * 60_000;
  const progress = new RunProgress(target, 'execute');
  let abort: AbortArgs | undefined;
  let retried = false;
  let approved = false;
  setHandler(abortSignal, (a) => {
    abort ??= a ?? {};
  });
  setHandler(retrySignal, () => {
    retried = true;
  });
  setHandler(approveSignal, () => {
    approved = true;
  });
  await childEvent({ target, event: 'start', at: Date.now(), input, parent: workflowInfo().parent?.workflowId });

  const end = async (
    outcome: ResetResult['outcome'],
    endReason: EndReason,
    message: string,
    workers: WorkersState['status'] = 'running',
  ): Promise<ResetResult> => {
    progress.state.workers = { status: workers };
    progress.ended(message, endReason);
    progress.phase(outcome === 'completed' ? 'completed' : outcome === 'aborted' ? 'aborted' : 'failed');
    await childEvent({ target, event: 'end', at: Date.now(), outcome });
    const result: ResetResult = { target, mode: 'execute', outcome, endReason, message, workers: { status: workers } };
    if (outcome === 'completed')
      return {
        ...result,
        message: undefined,
        verify: { ok: true, lines: [], report: 'Users: 6\nAccounts: 1', hints: [] },
      };
    const type =
      outcome === 'aborted'
        ? 'ResetAborted'
        : endReason === 'workersStillStopped'
          ? 'CompensationFailed'
          : 'StepFailed';
    throw ApplicationFailure.nonRetryable(`Reset of "${target}" ${message}`, type, result);
  };
  const aborted = () =>
    end('aborted', 'aborted', `Aborted by ${abort!.by ?? 'an operator'}${abort!.reason ? `: ${abort!.reason}` : ''}`);
  /** Works for `ms`; true when an abort came first. */
  const work = async (ms: number) => {
    await condition(() => Boolean(abort), ms);
    return Boolean(abort);
  };

  progress.started('plan');
  progress.finished('plan', 'fake plan');
  if (kind === 'prod') {
    progress.phase('awaiting-approval');
    await condition(() => approved || Boolean(abort));
    if (abort) return aborted();
  }
  progress.started('reset');
  progress.state.workers = { status: 'stopped' };
  if (kind === 'pause') {
    progress.state.workers = { status: 'running' };
    progress.paused('reset', 'TRUNCATE could not lock its tables within 1s', true);
    await condition(() => retried || Boolean(abort));
    if (abort) return aborted();
    progress.started('reset');
  }
  if (await work(workMs)) return aborted();
  if (kind === 'fail') return end('failed', 'stepFailed', 'TRUNCATE failed: deadlock detected');
  if (kind === 'stuck')
    return end('failed', 'workersStillStopped', 'WORKERS ARE STILL STOPPED — start them by hand', 'still-stopped');
  return end('completed', 'completed', 'completed');
}
