/**
 * The check before a schedule is made or changed: the fleet it would start, run once in mode plan
 * and unattended by the worker (which alone has the targets file and reaches the databases). A
 * schedule must never wait a day for a person, nor reset production unattended: any target that
 * would need a person (`plan.ownApproval`) or has plan errors refuses the schedule.
 */
import type { Client } from '@temporalio/client';
import { WORKFLOW_TASK_TIMEOUT, FLEET_WORKFLOW_TYPE, fleetPlanWorkflowId, FleetResult } from '../../contract';
import { sleep } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { failureDetails, failureText } from '../snapshot';
import { ScheduleWhat, unattendedPlanInput } from './spec';

export interface Preflight {
  workflowId: string;
  runId: string;
  /** Why the schedule is refused; empty: every target can be reset unattended. */
  refusals: string[];
  result?: FleetResult;
}

/** Why a planned fleet cannot run unattended, target by target (empty: it can). */
export function refusalsOf(result: FleetResult | undefined, failure?: string): string[] {
  const out: string[] = [];
  for (const t of result?.targets ?? []) {
    if (t.plan?.ownApproval) out.push(`${t.target}: would need a person: ${t.plan.ownApproval}`);
    for (const e of t.plan?.errors ?? []) out.push(`${t.target}: plan error: ${e}`);
    if (!t.plan) out.push(`${t.target}: not planned${t.detail ? `: ${t.detail}` : ''}`);
  }
  if (result && result.outcome !== 'planned' && out.length === 0)
    out.push(`the plan ended "${result.endReason}"${result.message ? `: ${result.message}` : ''}`);
  if (!result) out.push(`the plan run failed: ${failure ?? 'no result'}`);
  else if (result.targets.length === 0 && out.length === 0) out.push('the plan has no targets');
  return out;
}

/**
 * Runs the unattended plan and waits for it, at most `timeoutMs`. A plan nobody picked up is
 * terminated (so it does not run later, unasked) and reported as "no worker answered".
 */
export async function unattendedPlan(
  client: Client,
  what: ScheduleWhat,
  o: { taskQueue: string; timeoutMs: number; now: Date; signal?: AbortSignal },
): Promise<Preflight> {
  const handle = await client.workflow.start(FLEET_WORKFLOW_TYPE, {
    taskQueue: o.taskQueue,
    workflowId: fleetPlanWorkflowId(what.name, o.now),
    args: [unattendedPlanInput(what)],
    workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
  });
  const ids = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
  const ended = handle.result().then(
    (r) => ({ result: r as FleetResult, failure: undefined }),
    (err) => ({ result: failureDetails(err) as FleetResult | undefined, failure: failureText(err) }),
  );
  const timedOut = sleep(o.timeoutMs, o.signal).then(() => undefined);
  const done = await Promise.race([ended, timedOut]);
  if (!done) {
    const d = await handle.describe().catch(() => undefined);
    // Started + the first workflow task scheduled, and nothing since: no worker took it.
    const untouched = d !== undefined && d.historyLength <= 2;
    await handle.terminate('reset-runbook schedule: the unattended plan did not finish in time').catch(() => undefined);
    const secs = Math.round(o.timeoutMs / 1000);
    if (untouched || !d) {
      throw new CliError(
        `no worker answered on task queue "${o.taskQueue}" within ${secs}s: the unattended plan that must come before a schedule did not run; nothing was created or changed`,
        EXIT.failed,
        'start a worker for this task queue (RR_TASK_QUEUE), or wait longer with --plan-timeout',
      );
    }
    throw new CliError(
      `the unattended plan (workflow ${handle.workflowId}) did not finish within ${secs}s; nothing was created or changed`,
      EXIT.failed,
      'give it longer with --plan-timeout',
    );
  }
  const result = done.result && Array.isArray(done.result.targets) ? done.result : undefined;
  return { ...ids, result, refusals: refusalsOf(result, done.failure) };
}
