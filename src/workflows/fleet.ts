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
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  rootCause,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { DEFAULTS } from '../config/defaults';
import {
  type AbortArgs,
  childReportSignal,
  fleetAbortSignal,
  fleetApproveSignal,
  type FailureType,
  type FleetApproveArgs,
  type FleetEndReason,
  type FleetInput,
  type FleetResult,
  type FleetTarget,
} from '../contract';
import { Children, childInput } from './fleet-children';
import { checkFleetInput } from './fleet-input';
import { resolveLimits } from './fleet-limits';
import { fleetActivities, planTargets } from './fleet-plan';
import { FleetState, totalsOf } from './fleet-progress';
import { durationMs } from './input';
import { messageOf } from './steps';

class FleetAborted extends Error {}

export async function resetFleet(raw: FleetInput): Promise<FleetResult> {
  const input = checkFleetInput(raw, workflowInfo().workflowId);
  const fleet = new FleetState(input);
  const children = new Children(fleet);
  const s = fleet.state;
  const startedAt = Date.now();
  let approval: FleetApproveArgs | undefined;
  let abort: AbortArgs | undefined;
  const planning = new CancellationScope();

  setHandler(fleetAbortSignal, (a) => {
    if (abort) return;
    abort = a ?? {};
    s.abortRequested = { by: abort.by, reason: abort.reason, at: new Date().toISOString() };
    planning.cancel();
    fleet.publish();
  });
  setHandler(fleetApproveSignal, (a) => {
    const problem = approvalProblem(a);
    if (problem && s.approval) Object.assign(s.approval, { rejected: problem, rejectedAt: new Date().toISOString() });
    else if (!problem) approval = a;
    fleet.publish();
  });
  setHandler(childReportSignal, (r) => {
    const t = fleet.report(r);
    // Unattended, nobody would come: a paused child is aborted (it has already started its workers again).
    if (t?.status === 'waiting-for-operator' && input.onChildPause === 'abort')
      void children.abort(t, { by: `fleet ${input.name}`, reason: 'a step failed and this fleet runs unattended' });
  });
  const approvalProblem = (a: FleetApproveArgs): string | undefined => {
    if (!s.limits || s.phase !== 'awaiting-approval') return 'the fleet is not waiting for an approval';
    if (a?.confirmation !== input.name)
      return `confirmation "${a?.confirmation}" does not match the fleet's name "${input.name}"`;
    if (a.databases !== s.limits.databases)
      return `databases ${a.databases} does not match the plan: ${s.limits.databases} databases on ${s.limits.targets} targets`;
    return undefined;
  };

  /**
   * Every ending goes through here: the result lists every target; a fleet that did not complete fails (a schedule's
   * pauseOnFailure sees it).
   */
  const end = (outcome: FleetResult['outcome'], endReason: FleetEndReason, message?: string): FleetResult => {
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
  };
  const notStarted = (t: FleetTarget, why: string) => {
    t.status = 'not-started';
    t.endReason = 'notStarted';
    t.detail = `not started: ${why}`;
  };

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
    if (abort) return end('aborted', 'aborted', abortedBy(abort));
    if (isCancellation(err))
      return end('failed', 'cancelled', 'the fleet was cancelled while planning; nothing was touched');
    return end('failed', 'planFailed', `the plan failed; nothing was touched: ${messageOf(err)}`);
  }

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
        const got = await condition(() => Boolean(approval || abort), timeoutMs);
        if (abort) return end('aborted', 'aborted', abortedBy(abort));
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
      s.approvedBy = approval!.by ?? 'an operator';
    }
  }

  // 3 — the children, batch after batch.
  fleet.phase('running');
  let cancelled = false;
  try {
    await runBatches();
    // No new child starts (a threshold was reached), yet some may still run or wait for an operator:
    // an abort or a cancellation that comes now must still reach them.
    if (s.stopped) fleet.phase('stopping');
    await condition(
      () =>
        Boolean(abort) || s.targets.every((x) => fleet.ended(x) || x.status === 'pending' || x.status === 'planned'),
    );
    if (abort) throw new FleetAborted();
  } catch (err) {
    if (!isCancellation(err) && !(err instanceof FleetAborted)) throw err;
    cancelled = isCancellation(err);
    if (cancelled && !abort) abort = { by: 'a cancellation of the fleet', reason: 'the fleet run was cancelled' };
  }
  if (abort)
    await children.abortAll({
      by: abort.by ?? `fleet ${input.name}`,
      reason: abort.reason ?? `fleet ${input.name} aborted`,
    });
  await children.settled();

  // 4 — the ending: every target's outcome; the workers' state first. A target whose turn never came counts as not
  // started.
  if (abort)
    for (const x of s.targets) if (x.status === 'pending' || x.status === 'planned') notStarted(x, abortedBy(abort));
  const t = totalsOf(s.targets);
  const summary = `${t.completed} of ${t.targets} completed, ${t.failed} failed, ${t.aborted} aborted, ${t.notStarted} not started`;
  if (t.workersStillStopped)
    return end(
      'failed',
      'workersStillStopped',
      `${t.workersStillStopped} target(s) left their workers STOPPED: start them by hand (see each run); ${summary}`,
    );
  if (abort)
    return end(
      cancelled ? 'failed' : 'aborted',
      cancelled ? 'cancelled' : 'aborted',
      `${abortedBy(abort)}; ${summary}`,
    );
  if (t.completed === t.targets) return end('completed', 'completed');
  const stopped = s.stopped?.reason;
  return end(
    'failed',
    stopped === 'failureThreshold' ? 'failureThreshold' : stopped === 'batchFailed' ? 'batchFailed' : 'targetsFailed',
    `${s.stopped ? `${s.stopped.detail}; ` : ''}${summary}`,
  );

  async function runBatches(): Promise<void> {
    const sizes = s.limits!.batches;
    for (let b = 0; b < sizes.length; b++) {
      s.batch = { index: b + 1, of: sizes.length };
      const members = s.targets.filter((x) => x.batch === b + 1);
      for (const m of members) {
        await condition(() => Boolean(abort) || overThreshold() || fleet.active() < s.limits!.maxConcurrent);
        if (abort) throw new FleetAborted();
        if (overThreshold())
          return stop(
            'failureThreshold',
            `failure threshold reached (${fleet.failures()} failed or waiting, ${s.limits!.maxFailures} allowed)`,
          );
        children.start(m, childInput(input, m));
      }
      await condition(() => Boolean(abort) || members.every((m) => fleet.ended(m)));
      if (abort) throw new FleetAborted();
      const missed = members.filter((m) => m.status !== 'completed');
      if (missed.length && b + 1 < sizes.length)
        return stop(
          'batchFailed',
          `batch ${b + 1} did not complete (${missed.map((m) => `${m.target}: ${m.status}`).join(', ')})`,
        );
    }
  }
  function overThreshold(): boolean {
    return fleet.failures() > s.limits!.maxFailures;
  }
  function stop(reason: 'failureThreshold' | 'batchFailed', detail: string): void {
    s.stopped = { reason, at: new Date().toISOString(), detail };
    for (const x of s.targets) if (x.status === 'pending' || x.status === 'planned') notStarted(x, detail);
    log.warn('No new target starts', { reason, detail });
    fleet.publish();
  }
  async function refuse(why: string): Promise<FleetResult> {
    await notifyRefused(why);
    return end('rejected', 'refused', `refused; nothing was touched: ${why}`);
  }
  async function notifyRefused(why: string): Promise<void> {
    // A schedule's run that refuses starts no child, so no child tells the targets' webhooks: the fleet does.
    if (!input.unattended) return;
    const { workflowId, runId } = workflowInfo();
    for (const target of notifyOnRefusal) {
      const text = `Scheduled reset of "${target}" (fleet ${input.name}${input.schedule ? `, schedule ${input.schedule}` : ''}) REFUSED, nothing was touched: ${why}`;
      await notifier()
        .sendNotification({ event: 'failed', target, runId, workflowId, outcome: 'rejected', step: 'plan', text })
        .catch((e) => log.warn('Notification not delivered', { target, error: rootCause(e) }));
    }
  }
}

function abortedBy(a: AbortArgs): string {
  return `aborted by ${a.by ?? 'an operator'}${a.reason ? `: ${a.reason}` : ''}`;
}

function notifier() {
  return proxyActivities<Pick<Activities, 'sendNotification'>>({
    summary: 'Notify',
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 4 },
  });
}
