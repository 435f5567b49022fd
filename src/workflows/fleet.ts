/**
 * A fleet reset: the runbook over many targets, as one run (docs/operators/fleets-and-schedules.md).
 *
 *   targets (a list, or a group of the targets file) · plan every target · one approval for the fleet
 *   · one reset child per target, at most maxConcurrent at once, batch after batch · the ending
 *
 * The fleet never weakens a single reset: a child whose target needs its own approval (production, a
 * rebuild, approval.required) asks for it as if started alone; every child compensates on its own.
 * Once failures exceed maxFailures (a child waiting for an operator counts), an abort comes, or a
 * batch did not complete, no new child starts; those running finish, and the ending lists every target.
 */
import { CancellationScope, condition, isCancellation, workflowInfo } from '@temporalio/workflow';
import { DEFAULTS } from '../config/defaults';
import type { FleetEndReason, FleetInput, FleetResult } from '../contract';
import { runBatches } from './fleet-batches';
import { Children } from './fleet-children';
import { endFleet, notStarted, notifyRefused } from './fleet-ending';
import { checkFleetInput } from './fleet-input';
import { resolveLimits } from './fleet-limits';
import { fleetActivities, planTargets } from './fleet-plan';
import { FleetState, totalsOf } from './fleet-progress';
import { abortedBy, FleetAborted, handleFleetSignals } from './fleet-signals';
import { durationMs } from './input';
import { messageOf } from './steps';

export async function resetFleet(raw: FleetInput): Promise<FleetResult> {
  const input = checkFleetInput(raw, workflowInfo().workflowId);
  const fleet = new FleetState(input);
  const children = new Children(fleet);
  const s = fleet.state;
  const startedAt = Date.now();
  const planning = new CancellationScope();
  const signals = handleFleetSignals(input, fleet, children, planning);
  const end = (outcome: FleetResult['outcome'], endReason: FleetEndReason, message?: string): FleetResult =>
    endFleet(input, fleet, startedAt, outcome, endReason, message);

  // 1 — which targets, and every one's plan. Nothing is touched; an abort stops the plans.
  let notifyOnRefusal = new Set<string>();
  try {
    await planning.run(async () => {
      const chosen = await fleetActivities().fleetTargets({ targets: input.targets, group: input.group });
      const g = chosen.group;
      const given = {
        maxConcurrent: input.maxConcurrent ?? g?.maxConcurrent,
        maxFailures: input.maxFailures ?? g?.maxFailures,
        batches: input.batches ?? g?.batches,
      };
      const provisional = resolveLimits(chosen.targets.length, 0, given as Parameters<typeof resolveLimits>[2]);
      fleet.setTargets(chosen.targets, provisional.batches);
      const { notifications } = await planTargets(chosen.targets, (target, plan) => {
        const t = fleet.target(target)!;
        t.plan = plan;
        t.status = 'planned';
        fleet.publish();
      });
      const databases = s.targets.reduce((a, t) => a + (t.plan?.databases ?? 0), 0);
      fleet.setLimits(resolveLimits(chosen.targets.length, databases, given as Parameters<typeof resolveLimits>[2]));
      notifyOnRefusal = notifications;
    });
  } catch (err) {
    if (signals.abort) return end('aborted', 'aborted', abortedBy(signals.abort));
    if (isCancellation(err))
      return end('failed', 'cancelled', 'the fleet was cancelled while planning; nothing was touched');
    return end('failed', 'planFailed', `the plan failed; nothing was touched: ${messageOf(err)}`);
  }

  const refuse = async (why: string): Promise<FleetResult> => {
    await notifyRefused(input, notifyOnRefusal, why);
    return end('rejected', 'refused', `refused; nothing was touched: ${why}`);
  };

  const broken = s.targets.filter((t) => t.plan?.errors.length);
  if (input.mode === 'plan') {
    return end(
      'planned',
      'planned',
      broken.length
        ? `${broken.length} target(s) cannot be reset: ${broken.map((t) => `${t.target}: ${t.plan!.errors.join('; ')}`).join(' · ')}`
        : undefined,
    );
  }
  if (broken.length)
    return await refuse(`${broken.map((t) => `${t.target}: ${t.plan!.errors.join('; ')}`).join(' · ')}`);
  if (input.unattended) {
    const needPerson = s.targets.filter((t) => t.plan?.ownApproval);
    if (needPerson.length)
      return await refuse(
        `an unattended run never waits for a person or resets production: ${needPerson.map((t) => `${t.target} (${t.plan!.ownApproval})`).join(', ')}`,
      );
  }

  // 2 — the fleet's approval: its name and the number of databases, typed by a person (or in the input).
  if (!input.unattended) {
    const limits = s.limits!;
    if (input.confirmation !== undefined || input.databases !== undefined) {
      if (input.confirmation !== input.name || input.databases !== limits.databases) {
        return await refuse(
          `the input's confirmation ("${input.confirmation}", ${input.databases} databases) does not match the fleet "${input.name}" with ${limits.databases} databases on ${limits.targets} targets`,
        );
      }
      s.approvedBy = 'the input (confirmation and databases)';
    } else {
      const timeoutMs = durationMs(input.approvalTimeout ?? DEFAULTS.approval.timeout);
      const since = new Date();
      s.approval = {
        fleet: input.name,
        databases: limits.databases,
        since: since.toISOString(),
        deadline: new Date(since.getTime() + timeoutMs).toISOString(),
      };
      fleet.phase('awaiting-approval');
      try {
        const got = await condition(() => Boolean(signals.approval || signals.abort), timeoutMs);
        if (signals.abort) return end('aborted', 'aborted', abortedBy(signals.abort));
        if (!got)
          return end(
            'failed',
            'approvalTimedOut',
            `no approval within ${input.approvalTimeout ?? DEFAULTS.approval.timeout}; nothing was touched`,
          );
      } catch (err) {
        if (isCancellation(err))
          return end(
            'failed',
            'cancelled',
            'the fleet was cancelled while waiting for its approval; nothing was touched',
          );
        throw err;
      }
      s.approvedBy = signals.approval!.by ?? 'an operator';
    }
  }

  // 3 — the children, batch after batch.
  fleet.phase('running');
  let cancelled = false;
  try {
    await runBatches(input, fleet, children, signals);
    // No new child starts (a threshold was reached), yet some may still run or wait for an operator:
    // an abort or a cancellation that comes now must still reach them.
    if (s.stopped) fleet.phase('stopping');
    await condition(
      () =>
        Boolean(signals.abort) ||
        s.targets.every((x) => fleet.ended(x) || x.status === 'pending' || x.status === 'planned'),
    );
    if (signals.abort) throw new FleetAborted();
  } catch (err) {
    if (!isCancellation(err) && !(err instanceof FleetAborted)) throw err;
    cancelled = isCancellation(err);
    if (cancelled && !signals.abort)
      signals.abort = { by: 'a cancellation of the fleet', reason: 'the fleet run was cancelled' };
  }
  if (signals.abort)
    await children.abortAll({
      by: signals.abort.by ?? `fleet ${input.name}`,
      reason: signals.abort.reason ?? `fleet ${input.name} aborted`,
    });
  await children.settled();

  // 4 — the ending: every target's outcome; the workers' state first. A target whose turn never came counts as not
  // started.
  if (signals.abort)
    for (const x of s.targets)
      if (x.status === 'pending' || x.status === 'planned') notStarted(x, abortedBy(signals.abort));
  const t = totalsOf(s.targets);
  const summary = `${t.completed} of ${t.targets} completed, ${t.failed} failed, ${t.aborted} aborted, ${t.notStarted} not started`;
  if (t.workersStillStopped)
    return end(
      'failed',
      'workersStillStopped',
      `${t.workersStillStopped} target(s) left their workers STOPPED: start them by hand (see each run); ${summary}`,
    );
  if (signals.abort)
    return end(
      cancelled ? 'failed' : 'aborted',
      cancelled ? 'cancelled' : 'aborted',
      `${abortedBy(signals.abort)}; ${summary}`,
    );
  if (t.completed === t.targets) return end('completed', 'completed');
  const stopped = s.stopped?.reason;
  return end(
    'failed',
    stopped === 'failureThreshold' ? 'failureThreshold' : stopped === 'batchFailed' ? 'batchFailed' : 'targetsFailed',
    `${s.stopped ? `${s.stopped.detail}; ` : ''}${summary}`,
  );
}
