/**
 * Schedules of ours as the CLI shows them: read from Temporal (describe, list, and the runs a
 * schedule started), turned into plain objects that render.ts prints and --json emits as they are.
 */
import { Client, ScheduleDescription, ScheduleNotFoundError } from '@temporalio/client';
import { type FleetResult, type ScheduleMemo, scheduleId } from '../../contract';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { failureDetails, failureText } from '../snapshot';
import { ActionMemo, nameOfScheduleId, ourMemo, ScheduleWhen } from './spec';

export interface ScheduledRun {
  scheduledAt: string;
  takenAt: string;
  workflowId: string;
  runId: string;
  /** The run's status (RUNNING, COMPLETED, FAILED, ...); "UNKNOWN" when it can no longer be read. */
  status: string;
  outcome?: FleetResult['outcome'];
  endReason?: FleetResult['endReason'];
  message?: string;
}

export interface ScheduleView {
  name: string;
  scheduleId: string;
  source: ScheduleMemo['source'];
  resets: ScheduleMemo['resets'];
  /** As given when it was made or last synced. */
  when?: ScheduleWhen;
  specDigest?: string;
  paused: boolean;
  note?: string;
  overlap: string;
  catchupWindowMs: number;
  pauseOnFailure: boolean;
  nextRuns: string[];
  recent: ScheduledRun[];
  running: { workflowId: string; runId: string }[];
  actionsTaken: number;
  missedCatchupWindow: number;
  skippedOverlap: number;
  createdAt: string;
  updatedAt?: string;
}

/**
 * The schedule of a name, if it is ours; a CliError (exit 5) when there is none, (exit 1) when it is somebody else's.
 */
export async function describeOurs(
  client: Client,
  name: string,
): Promise<{ view: ScheduleView; description: ScheduleDescription }> {
  const id = scheduleId(name);
  let d: ScheduleDescription;
  try {
    d = await client.schedule.getHandle(id).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new CliError(`no schedule "${name}" (${id})`, EXIT.notFound, 'see: reset-runbook schedule list');
    throw err;
  }
  const view = viewOf(d);
  if (!view)
    throw new CliError(
      `schedule ${id} is not one of reset-runbook's (its memo has no managedBy "reset-runbook"); leave it to whoever made it`,
      EXIT.failed,
    );
  return { view, description: d };
}

/** Undefined for a schedule that is not ours. */
export function viewOf(d: ScheduleDescription): ScheduleView | undefined {
  const memo = ourMemo(d.memo);
  if (!memo) return undefined;
  const action = d.action.memo as Partial<ActionMemo> | undefined;
  return {
    name: nameOfScheduleId(d.scheduleId),
    scheduleId: d.scheduleId,
    source: memo.source,
    resets: memo.resets,
    when: action?.when,
    // The schedule's memo cannot be updated; an update keeps the current digest in the action's memo.
    specDigest: action?.specDigest ?? memo.specDigest,
    paused: d.state.paused,
    note: d.state.note || undefined,
    overlap: d.policies.overlap ?? 'SKIP',
    catchupWindowMs: d.policies.catchupWindow,
    pauseOnFailure: d.policies.pauseOnFailure,
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recent: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      takenAt: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
      status: 'UNKNOWN',
    })),
    running: d.info.runningActions.map((a) => ({
      workflowId: a.workflow.workflowId,
      runId: a.workflow.firstExecutionRunId,
    })),
    actionsTaken: d.info.numActionsTaken,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    createdAt: d.info.createdAt.toISOString(),
    updatedAt: d.info.lastUpdatedAt?.toISOString(),
  };
}

/**
 * How a scheduled run stands or ended: its status, and for a closed run its FleetResult (a failed run carries it as the
 * failure's details).
 */
export async function readRun(client: Client, r: ScheduledRun): Promise<ScheduledRun> {
  const handle = client.workflow.getHandle(r.workflowId, r.runId);
  const d = await handle.describe().catch(() => undefined);
  if (!d) return r;
  const out: ScheduledRun = { ...r, status: d.status.name };
  if (d.status.name !== 'COMPLETED' && d.status.name !== 'FAILED') return out;
  let result: FleetResult | undefined;
  try {
    result = (await handle.result()) as FleetResult;
  } catch (err) {
    const details = failureDetails(err) as FleetResult | undefined;
    if (details && typeof details === 'object' && 'endReason' in details) result = details;
    out.message = failureText(err);
  }
  if (result) {
    out.outcome = result.outcome;
    out.endReason = result.endReason;
    out.message = result.message ?? out.message;
  }
  return out;
}

/** Every schedule of ours. The list is eventually consistent: a schedule made a moment ago may be missing from it. */
export async function listOurs(client: Client): Promise<{ scheduleId: string; memo: ScheduleMemo }[]> {
  const out: { scheduleId: string; memo: ScheduleMemo }[] = [];
  for await (const s of client.schedule.list()) {
    const memo = ourMemo(s.memo);
    if (memo) out.push({ scheduleId: s.scheduleId, memo });
  }
  return out;
}
