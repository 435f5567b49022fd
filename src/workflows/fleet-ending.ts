/**
 * How a fleet ends: the result that lists every target, and, for an unattended fleet that refuses,
 * the notification its children would have sent had any started.
 */
import { ApplicationFailure, log, proxyActivities, rootCause, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FailureType, FleetEndReason, FleetResult, FleetTarget } from '../contract';
import type { CheckedFleetInput } from './fleet-input';
import { type FleetState, totalsOf } from './fleet-progress';

/**
 * Every ending goes through here: the result lists every target; a fleet that did not complete fails (a schedule's
 * pauseOnFailure sees it).
 */
export function endFleet(
  input: CheckedFleetInput,
  fleet: FleetState,
  startedAt: number,
  outcome: FleetResult['outcome'],
  endReason: FleetEndReason,
  message?: string,
): FleetResult {
  const s = fleet.state;
  // A plan's targets stay "planned"; otherwise a target whose turn never came says why.
  if (outcome !== 'planned')
    for (const t of s.targets)
      if (t.status === 'pending' || t.status === 'planned') notStarted(t, message ?? endReason);
  fleet.phase(
    outcome === 'completed' || outcome === 'planned'
      ? 'completed'
      : endReason === 'cancelled'
        ? 'cancelled'
        : outcome === 'aborted'
          ? 'aborted'
          : 'failed',
  );
  fleet.outcome(outcome);
  const result: FleetResult = {
    name: input.name,
    mode: input.mode,
    outcome,
    endReason,
    ...(message ? { message } : {}),
    limits: s.limits,
    targets: s.targets,
    totals: totalsOf(s.targets),
    durationMs: Date.now() - startedAt,
  };
  if (outcome === 'completed' || outcome === 'planned') return result;
  const type: FailureType =
    endReason === 'refused' ? 'FleetRefused' : outcome === 'aborted' ? 'FleetAborted' : 'FleetFailed';
  throw ApplicationFailure.nonRetryable(`Fleet "${input.name}": ${message ?? endReason}`, type, result);
}

export function notStarted(t: FleetTarget, why: string): void {
  t.status = 'not-started';
  t.endReason = 'notStarted';
  t.detail = `not started: ${why}`;
}

/** A schedule's run that refuses starts no child, so no child tells the targets' webhooks: the fleet does. */
export async function notifyRefused(input: CheckedFleetInput, targets: Set<string>, why: string): Promise<void> {
  if (!input.unattended) return;
  const { workflowId, runId } = workflowInfo();
  for (const target of targets) {
    const text = `Scheduled reset of "${target}" (fleet ${input.name}${input.schedule ? `, schedule ${input.schedule}` : ''}) REFUSED, nothing was touched: ${why}`;
    await notifier()
      .sendNotification({ event: 'failed', target, runId, workflowId, outcome: 'rejected', step: 'plan', text })
      .catch((e) => log.warn('Notification not delivered', { target, error: rootCause(e) }));
  }
}

function notifier() {
  return proxyActivities<Pick<Activities, 'sendNotification'>>({
    summary: 'Notify',
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 4 },
  });
}
