/**
 * The contract of a fleet reset (many targets in one run) and of scheduled resets: what the CLI, the
 * Web UI, `temporal`, schedules and tests send and read. Like the single-target contract, it names
 * targets, never secrets. Its ids are in ids.ts, its signals in signals.ts.
 *
 * A fleet runs one `productionDataReset` child per target under the child's usual id `reset-<target>`,
 * so a target that is already being reset (by a person, or by another fleet) is never reset twice.
 */
import type { ResetResult } from './reset';
import type { EndReason, Phase, WorkersState } from './run-state';
import type { StepName, StepStatus } from './steps';

/** The memo every schedule of ours carries: who owns it (a `schedule create`, or `schedule sync` of a targets file). */
export interface ScheduleMemo {
  managedBy: 'reset-runbook';
  source: 'cli' | 'targets-file';
  /** What the schedule resets: a target or a group of the targets file. */
  resets: { target: string } | { group: string };
  /**
   * The task queue its runs go to: a targets file belongs to the workers of one task queue, so
   * `schedule sync` owns (and may delete) only the file's schedules of its own task queue.
   */
  taskQueue?: string;
  /**
   * A digest of the schedule's spec, policy and input at creation. Temporal's schedule update cannot
   * change a schedule's memo, so the current digest also rides in the action's memo (`ActionMemo` in
   * src/cli/schedule/spec.ts: schedule id, timing as given, digest), which sync and describe read first.
   */
  specDigest?: string;
}

/** A count ("3") or a share of the fleet's targets ("25%"). */
export type Share = number | `${number}%`;

/**
 * The single JSON object a fleet takes (Web UI's Start Workflow form, `temporal workflow start`, the CLI, a schedule).
 */
export interface FleetInput {
  /** The fleet's name: the approval types it. Lower-case letters, digits, - and _. */
  name: string;
  /** The targets, in the order they are reset. Give these or `group`. */
  targets?: string[];
  /** A group of the worker's targets file (`groups`), in its order. */
  group?: string;
  /** `plan` plans every target and ends; `execute` resets them. Default: plan. */
  mode?: 'plan' | 'execute';
  /** How many children run at once (a count or a share of the targets). Default 1. */
  maxConcurrent?: Share;
  /** How many children may fail (or wait for an operator) before no new one starts. Default 0. */
  maxFailures?: Share;
  /**
   * Canary batches, e.g. [1, "25%", "100%"]: the next batch starts only when every child of the one
   * before completed and verified; the last size repeats until every target had its turn. Default: one batch.
   */
  batches?: Share[];
  /** The fleet's name typed in advance; with `databases`, stands in for the approval signal. */
  confirmation?: string;
  /** The number of databases the fleet resets, typed in advance (the plan counts them). */
  databases?: number;
  /** Why this fleet is reset; recorded in every child's input. */
  reason?: string;
  /** How long to wait for the fleet's approval (and each child's own, where asked), e.g. "30m". Default 24h. */
  approvalTimeout?: string;
  /**
   * A run nobody watches (a schedule): every target that would need a person (production, an approval
   * the target requires, a schema rebuild) refuses the whole run before anything is touched, there is
   * no fleet approval, and a child that pauses for an operator is aborted (`onChildPause` "abort").
   */
  unattended?: boolean;
  /** What a child that pauses for an operator gets: "wait" (default; a person resumes or aborts it) or "abort". */
  onChildPause?: 'wait' | 'abort';
  /** The schedule that started this run, if any (set in the schedule's action). */
  schedule?: string;
  /**
   * Who started the fleet (`reset-runbook fleet start` sends its identity): every child's `startedBy`, so a
   * target's `approval.allowSelfApproval: false` refuses this person's approval of the child, as for a reset
   * they started themselves.
   */
  startedBy?: string;
}

/** The approve signal of a fleet: the fleet's name and the number of databases, as the plan shows them. */
export interface FleetApproveArgs {
  confirmation: string;
  databases: number;
  by?: string;
}

/** One target's plan, as the fleet's approval shows it. */
export interface FleetTargetPlan {
  databaseName: string;
  environment?: string;
  /** How many databases this target resets (the primary and its extra databases). */
  databases: number;
  tablesToTruncate: number;
  rowsToTruncate: number;
  objectsToDelete: number;
  /**
   * Why this target's own run asks for its own approval (production, approval.required, a rebuild); absent: the fleet's
   * approval covers it.
   */
  ownApproval?: string;
  /** The undo line of the plan: what `reset-runbook restore` can bring back. */
  undo?: string;
  warnings: string[];
  errors: string[];
}

export type FleetTargetStatus =
  | 'pending'
  | 'planned'
  | 'running'
  | 'awaiting-approval'
  | 'waiting-for-operator'
  | 'completed'
  | 'failed'
  | 'aborted'
  | 'not-started';

export interface FleetTarget {
  target: string;
  status: FleetTargetStatus;
  /** The child's workflow id (`reset-<target>`) and, once started, its run id. */
  workflowId: string;
  runId?: string;
  /** 1-based batch this target belongs to. */
  batch: number;
  plan?: FleetTargetPlan;
  /** What the child reports: its phase and current step. */
  phase?: Phase;
  step?: StepName;
  stepStatus?: StepStatus;
  /** A line on where it is or how it ended (the child's message, or why it never started). */
  detail?: string;
  outcome?: ResetResult['outcome'];
  /** The child's endReason; `notStarted` for a target whose child never started. */
  endReason?: EndReason | 'notStarted';
  workers?: WorkersState['status'];
  /** When the child stopped its workers, and the command that starts them by hand (from the child's WorkersState). */
  workersStoppedSince?: string;
  startCommand?: string;
  /** Set when the child ended after its TRUNCATE committed: how to undo it. */
  restoreCommand?: string;
  startedAt?: string;
  endedAt?: string;
}

export interface FleetLimits {
  targets: number;
  databases: number;
  maxConcurrent: number;
  /** Failures allowed: the fleet stops starting children when failures exceed this. */
  maxFailures: number;
  /** Batch sizes, resolved against the number of targets (sum = targets). */
  batches: number[];
  /** As given, for display ("25%"). */
  given: { maxConcurrent: Share; maxFailures: Share; batches?: Share[] };
}

export interface FleetTotals {
  targets: number;
  completed: number;
  failed: number;
  aborted: number;
  notStarted: number;
  running: number;
  waiting: number;
  /** Children that ended with their workers still stopped (a person must start them). */
  workersStillStopped: number;
}

export type FleetPhase =
  'planning' | 'awaiting-approval' | 'running' | 'stopping' | 'completed' | 'failed' | 'aborted' | 'cancelled';

/**
 * Why a fleet ended: a single run's reasons (a step's failure is a child's, not the fleet's) and the
 * fleet's own. `refused` here also covers an unattended run that would need a person;
 * `workersStillStopped` (a child could not start its workers again) wins over every other failure.
 */
export type FleetEndReason =
  | Exclude<EndReason, 'stepFailed'>
  /** Failures exceeded maxFailures: the targets after them never started. */
  | 'failureThreshold'
  /** A batch did not complete: the batches after it never started. */
  | 'batchFailed'
  /** Some children failed within the threshold. */
  | 'targetsFailed';

export interface FleetProgress {
  kind: 'fleet';
  name: string;
  mode: 'plan' | 'execute';
  phase: FleetPhase;
  unattended: boolean;
  schedule?: string;
  limits?: FleetLimits;
  targets: FleetTarget[];
  /** The batch running now (1-based) of how many. */
  batch?: { index: number; of: number };
  /** Set while the fleet waits for its approval. */
  approval?: {
    fleet: string;
    databases: number;
    since: string;
    deadline: string;
    rejected?: string;
    rejectedAt?: string;
  };
  approvedBy?: string;
  abortRequested?: { by?: string; reason?: string; at: string };
  /** Why no new child starts any more. */
  stopped?: { reason: 'failureThreshold' | 'batchFailed' | 'aborted'; at: string; detail: string };
  totals: FleetTotals;
}

export interface FleetResult {
  name: string;
  mode: 'plan' | 'execute';
  outcome: 'planned' | 'completed' | 'failed' | 'aborted' | 'rejected';
  endReason: FleetEndReason;
  message?: string;
  /** Who approved the fleet ("the input" when confirmed in it; absent for a plan or an unattended run). */
  approvedBy?: string;
  reason?: string;
  schedule?: string;
  limits?: FleetLimits;
  targets: FleetTarget[];
  totals: FleetTotals;
  durationMs?: number;
}

/** What a child (a reset run in a fleet) reports to its fleet whenever its phase, step or workers change. */
export interface ChildReport {
  target: string;
  runId: string;
  phase: Phase;
  step?: StepName;
  stepStatus?: StepStatus;
  workers: WorkersState['status'];
  detail?: string;
  /**
   * 1, 2, 3… per child run, in the order it sent them. A child does not wait for one report to arrive
   * before it sends the next, and the server may deliver two in flight in either order: the fleet
   * keeps the latest and drops an older one that arrives after it.
   */
  seq?: number;
}

/** A target that the fleet's approval does not cover: why its own run asks a person. */
export function ownApprovalReason(p: {
  environment?: string;
  highRisk: boolean;
  settings: { approvalRequired: boolean };
}): string | undefined {
  if (p.environment === undefined) return 'its environment is unknown (treated as production)';
  if (p.environment === 'production') return 'environment "production"';
  if (p.highRisk) return 'its strategy rebuilds the schema (high risk)';
  if (p.settings.approvalRequired) return 'the target requires approval (approval.required)';
  return undefined;
}
