/**
 * The names every layer must agree on: the task queue, the workflow types and the ids runs get, and
 * the search attributes. A wrong string here is a run nobody finds, so each is written once.
 * Deterministic code only (bundled into the workflow sandbox).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TASK_QUEUE = 'reset-runbook';
/** The workflow type name, as typed into the Web UI's Start Workflow form or `temporal workflow start --type`. */
export const WORKFLOW_TYPE = 'productionDataReset';

/**
 * The workflow task timeout our starters set (the server's default is 10 s). A worker killed while it
 * holds a workflow task is noticed after this long, so a shorter one keeps a run's recovery within the
 * heartbeat timeout + 3 s (docs/reliability.md); our workflow tasks take milliseconds.
 */
export const WORKFLOW_TASK_TIMEOUT = '5s';

/** A reset of target X always runs under this id, so the server refuses a second concurrent reset of X. */
export function resetWorkflowId(target: string): string {
  return `reset-${target}`;
}
/**
 * A restore of target X always runs under this id, so the server refuses a second concurrent restore of X: one restore
 * of X at a time.
 */
export function restoreWorkflowId(target: string): string {
  return `restore-${target}`;
}
/** The restore's workflow type name (Web UI's Start Workflow, `temporal workflow start --type`). */
export const RESTORE_WORKFLOW_TYPE = 'restoreFromBackup';
/** The command an operator types to undo a reset whose TRUNCATE committed. */
export function restoreCommand(target: string, resetRunId: string): string {
  return `reset-runbook restore ${target} --run ${resetRunId}`;
}
/** A restore drill of target X (`reset-runbook drill`): a fresh backup, restored into a scratch database. */
export const DRILL_WORKFLOW_TYPE = 'backupDrill';
export function drillWorkflowId(target: string): string {
  return `drill-${target}`;
}
/** Plans change nothing, so any number may run; this is the id the CLI uses. */
export function planWorkflowId(target: string, at: Date): string {
  return `plan-${target}-${at.toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
}

/** Search attributes registered by `scripts/stack up` (dev server) and docker-compose (production). */
export const SEARCH_ATTRIBUTES = {
  target: 'ResetTarget',
  step: 'ResetStep',
  outcome: 'ResetOutcome',
} as const;
export const TARGET_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.target, SearchAttributeType.KEYWORD);
export const STEP_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.step, SearchAttributeType.KEYWORD);
export const OUTCOME_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.outcome, SearchAttributeType.KEYWORD);

// ---- Fleets and schedules ----

export const FLEET_WORKFLOW_TYPE = 'resetFleet';

/** A fleet started by a person runs under this id: one fleet of a name at a time. */
export function fleetWorkflowId(name: string): string {
  return `fleet-${name}`;
}
/** A fleet's plan (mode "plan") changes nothing, so any number may run. */
export function fleetPlanWorkflowId(name: string, at: Date): string {
  return `plan-fleet-${name}-${at.toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
}

/**
 * Schedules (Temporal's Schedule API) are named after the target or group they reset. The server
 * appends the scheduled time to the workflow id of every run it starts, so a scheduled run's id is
 * `scheduled-<name>-<time>`; its children keep their `reset-<target>` ids.
 */
export function scheduleId(name: string): string {
  return `reset-schedule-${name}`;
}
export function scheduledWorkflowId(name: string): string {
  return `scheduled-${name}`;
}
