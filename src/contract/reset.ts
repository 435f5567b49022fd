/**
 * The reset's contract: the single JSON input a run takes, the progress its query answers, the
 * operator's signal arguments and the result it ends with.
 *
 * Secrets never appear here: the input names a target, and the worker resolves the target's
 * database URLs and credentials from its own environment.
 */
import type { ApprovalRecord, ApprovalRefusal } from './approval-record';
import type { BackupRecord } from './backup';
import type { Plan } from './plan';
import type { RestorePlan } from './restore';
import type { EndReason, Phase, WorkersState } from './run-state';
import type { StepName, StepState } from './steps';

export type Mode = 'plan' | 'execute';

/** The single JSON object a run takes (the Web UI's Start Workflow form sends exactly one payload). */
export interface ResetInput {
  /** Name of a target in the worker's targets file. */
  target: string;
  /** `plan` reads and reports, changing nothing. `execute` runs the whole runbook. Default: plan. */
  mode?: Mode;
  /** Always wait for an `approve` signal, even where the database does not call itself production. */
  requireApproval?: boolean;
  /**
   * The database's name typed in advance. Used instead of an approval signal only where no approval
   * is required; a wrong value fails the run before anything is touched.
   */
  confirmation?: string;
  /** Why this reset is run; recorded in history and the result. */
  reason?: string;
  /** How long to wait for approval, e.g. "30m", "24h". Default from the target, else 24h. */
  approvalTimeout?: string;
  /** Count every table exactly in the plan, however large (overrides the target's plan.exactCounts). */
  exactCounts?: boolean;
  /**
   * Who starts the run, as the starting client asserts it (`reset-runbook start` sends its identity): where
   * approval.allowSelfApproval is false, this identity's approval does not count.
   */
  startedBy?: string;
}

export interface Progress {
  target: string;
  mode: Mode;
  /** Which procedure this run is (absent: a reset, as in runs recorded before restores existed). */
  kind?: 'reset' | 'restore';
  /** A restore's plan (which backup, its age, the counts it holds, what the database holds now). */
  restorePlan?: RestorePlan;
  phase: Phase;
  currentStep?: StepName;
  steps: StepState[];
  /** Set while the run waits for an operator after a step failed its retries. */
  waiting?: {
    step: StepName;
    error: string;
    since: string;
    signals: ['retry', 'abort'];
    /**
     * Whether this run started the workers again before pausing (false: it never stopped them, or it could not start
     * them).
     */
    workersRestarted: boolean;
  };
  /** Set the moment an abort signal arrives, so `abort` can say "accepted" while the run compensates. */
  abortRequested?: { by?: string; reason?: string; at: string };
  /** Set while the run waits for approval; the four-eyes fields are absent in runs from before them. */
  approval?: {
    database: string;
    highRisk: boolean;
    since: string;
    deadline: string;
    planDigest: string;
    /** How many distinct approvals the run needs. */
    required?: number;
    /** Who may approve (absent: anyone but, where self-approval is off, the starter). */
    approvers?: string[];
    allowSelfApproval?: boolean;
    startedBy?: string;
    /** The approvals counted so far. */
    approvals?: ApprovalRecord[];
    /** The approvals not counted, and why (the starter's, a second by one identity, one not in `approvers`). */
    refused?: ApprovalRefusal[];
  };
  plan?: Plan;
  backup?: BackupRecord;
  /**
   * The one record of the workers' state that every view reads. It replaced
   * `workersStoppedByUs` (status 'stopped' | 'restarting' | 'still-stopped' mean "stopped by us").
   */
  workers: WorkersState;
}

export interface ApproveArgs {
  /** Must equal the target database's name. */
  confirmation: string;
  /** Required for high-risk strategies (schema rebuild): must equal `REBUILD <database>`. */
  highRiskConfirmation?: string;
  /** If given, must equal the plan digest shown in `progress.approval.planDigest`. */
  planDigest?: string;
  by?: string;
  /**
   * The approver's identity as the sending client asserts it: signals do not carry their sender to workflow code, so
   * the CLI puts its own identity here (TEMPORAL_IDENTITY, --identity, else user@host). Absent: `by` stands in.
   */
  identity?: string;
}
export interface AbortArgs {
  reason?: string;
  by?: string;
}
/** A person says no while the run waits for approval: it ends "rejected", nothing touched. */
export interface RejectArgs {
  reason?: string;
  /** The rejecting client's identity, asserted as for an approval. */
  identity?: string;
}

export interface VerifyLine {
  label: string;
  table: string;
  database: string;
  expected: string; // "6", "0", "1..10"
  actual: number;
  ok: boolean;
}

/** Accounts in the users table by role, e.g. {count: 6, roles: {master: 1, admin: 2, agent: 3}}. */
export interface AccountsSummary {
  count: number;
  roles: Record<string, number>;
}

export interface ResetResult {
  target: string;
  mode: Mode;
  outcome: 'planned' | 'completed' | 'failed' | 'aborted' | 'rejected';
  reason?: string;
  message?: string;
  plan?: Plan;
  backup?: BackupRecord;
  countsBefore?: Record<string, number>;
  countsAfter?: Record<string, number>;
  verify?: { ok: boolean; lines: VerifyLine[]; report: string; hints: string[] };
  /**
   * count + alreadyGone + missing: every doomed key once (plus untracked variants, in count). alreadyGone:
   * removed (quarantined) by an attempt whose progress was not recorded; missing: in neither the source
   * nor the quarantine, the file was gone before the reset (missingSample names a few).
   */
  objectsDeleted?: {
    count: number;
    bytes: number;
    errors: number;
    alreadyGone?: number;
    missing?: number;
    missingSample?: string[];
    /** Of count: untracked variant files, which the plan's objectsToDelete does not count (no row names them). */
    variants?: number;
  };
  /** The accounts after the reset: a count and roles, never logins (history is readable by all UI users). */
  accounts?: AccountsSummary;
  stepDurationsMs?: Partial<Record<StepName, number>>;
  /** Why the run ended; set on every ending. */
  endReason?: EndReason;
  /** Who started the run and the approvals it counted (identity, time, plan digest), when it asked for any. */
  startedBy?: string;
  approvals?: ApprovalRecord[];
  /** Who rejected the run and why (endReason "rejected"). */
  rejectedBy?: { identity?: string; reason?: string; at: string };
  /** The workers' final state (see WorkersState). */
  workers?: WorkersState;
  /**
   * Set when the run ended (aborted, failed) after its TRUNCATE committed: the exact command
   * that restores the backup this run took, e.g. `reset-runbook restore demo --run <run id>`.
   */
  restoreCommand?: string;
}
