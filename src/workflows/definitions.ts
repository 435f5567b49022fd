/**
 * The contract between the runbook workflow and everything that talks to it: the CLI, the Web UI,
 * `temporal`/`tctl`, tests. Deterministic code only (this file is bundled into the workflow sandbox).
 *
 * Secrets never appear here: the input names a target, and the worker resolves the target's
 * database URLs and credentials from its own environment.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

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
/** A restore of target X always runs under this id (issue 8): one restore of X at a time. */
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
}

export type StepName = 'plan' | 'backup' | 'approval' | 'stopWorkers' | 'reset' | 'purgeStorage' | 'startWorkers' | 'verify' | 'restore' | 'restoreStorage';

export const STEP_TITLES: Record<StepName, string> = {
  plan: '0 Plan',
  backup: '1 Backup the database',
  approval: 'Approval',
  stopWorkers: '2 Stop Solid Queue workers',
  reset: '3 Reset the database',
  purgeStorage: '4 Clean orphaned S3 files',
  startWorkers: '5 Restart Solid Queue workers',
  verify: '6 Verify',
  // The restore (issue 8) shares the numbering: it has no backup step, and 3/4 undo the reset's 3/4.
  restore: '3 Restore the database from the backup',
  restoreStorage: '4 Bring back quarantined files',
};

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'waiting-for-operator' | 'skipped';

export interface StepState {
  name: StepName;
  title: string;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  /** Every attempt of the step's activity: the workflow's own retries and an operator's retry each count one. */
  attempts: number;
  detail?: string;
  error?: string;
}

export type Phase = 'planning' | 'running' | 'awaiting-approval' | 'waiting-for-operator' | 'compensating' | 'completed' | 'failed' | 'aborted' | 'cancelled';

export interface Progress {
  target: string;
  mode: Mode;
  /** Issue 8: which procedure this run is (absent: a reset, as before). */
  kind?: 'reset' | 'restore';
  /** Issue 8: a restore's plan (which backup, its age, the counts it holds, what the database holds now). */
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
    /** CONTRACT (issue 7): whether this run started the workers again before pausing (false: it never stopped them, or it could not start them). */
    workersRestarted: boolean;
  };
  /** CONTRACT (issue 7): set the moment an abort signal arrives, so `abort` can say "accepted" while the run compensates. */
  abortRequested?: { by?: string; reason?: string; at: string };
  /** Set while the run waits for approval. */
  approval?: { database: string; highRisk: boolean; since: string; deadline: string; planDigest: string };
  plan?: Plan;
  backup?: BackupRecord;
  /**
   * CONTRACT (issue 7): the one record of the workers' state that every view reads. It replaces
   * `workersStoppedByUs` (status 'stopped' | 'restarting' | 'still-stopped' mean "stopped by us").
   */
  workers: WorkersState;
}

/** Whether the target's Solid Queue workers run, as far as this run knows. */
export interface WorkersState {
  /**
   * untouched: this run never stopped them · stopped: stopped by this run (a step needs them stopped)
   * · restarting: the run is starting them again (compensation) · running: started again by this run
   * · still-stopped: starting them failed within the restart budget; a person must start them
   * · left-stopped: none was alive before the reset and the target says to leave them so
   *   (workers.whenNoneAliveBefore: "leave"): stopped, as they were, on purpose.
   */
  status: 'untouched' | 'stopped' | 'restarting' | 'running' | 'still-stopped' | 'left-stopped';
  /** When this run stopped them (ISO time). */
  stoppedSince?: string;
  /** The target's start command, so an operator can start them by hand (the targets file holds no secrets). */
  startCommand?: string;
  /** While (and after) compensating: attempt n of at most maxAttempts, within the budget ending at deadline. */
  restart?: { attempt: number; maxAttempts: number; deadline: string; lastError?: string };
}

/** Why a run ended, for scripts and the CLI's exit codes; `outcome` says how. */
export type EndReason =
  | 'completed'
  | 'planned'
  | 'refused'
  | 'planFailed'
  | 'approvalTimedOut'
  | 'aborted'
  | 'cancelled'
  | 'stepFailed'
  /** The run could not start the workers again: they are stopped, and a person must start them. */
  | 'workersStillStopped';

/**
 * CONTRACT (issue 7, added by item 7): what a run tells the target's webhooks. waitingForApproval ·
 * waitingForOperator (a step failed its retries) · workersStillStopped (compensation failed) ·
 * completed · failed · aborted.
 */
export const NOTIFY_EVENTS = ['waitingForApproval', 'waitingForOperator', 'workersStillStopped', 'completed', 'failed', 'aborted'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** The JSON body each webhook receives; `text` makes it a valid Slack incoming-webhook message. */
export interface NotifyMessage {
  event: NotifyEvent;
  target: string;
  runId: string;
  workflowId: string;
  /** How the run ended; null while it has not (it waits). */
  outcome: ResetResult['outcome'] | null;
  /** The step the message is about (the failed or current one); null before any. */
  step: StepName | null;
  text: string;
}

export interface ApproveArgs {
  /** Must equal the target database's name. */
  confirmation: string;
  /** Required for high-risk strategies (schema rebuild): must equal `REBUILD <database>`. */
  highRiskConfirmation?: string;
  /** If given, must equal the plan digest shown in `progress.approval.planDigest`. */
  planDigest?: string;
  by?: string;
}
export interface AbortArgs {
  reason?: string;
  by?: string;
}

export const approveSignal = defineSignal<[ApproveArgs]>('approve');
export const retrySignal = defineSignal<[]>('retry');
export const abortSignal = defineSignal<[AbortArgs]>('abort');
export const progressQuery = defineQuery<Progress>('progress');

// ---- What the activities report (kept here so the workflow, CLI and tests share one shape) ----

export interface TablePlan {
  database: string; // the logical name: "primary", or an extra database's name
  schema: string;
  table: string;
  rows: number; // exact count, unless estimated
  /** Issue 9: rows is pg_class.reltuples (a large table, plan.estimateAboveRows), not a count; shown with "≈". */
  estimated?: boolean;
  action: 'truncate' | 'keep';
}

export interface ForeignKeyEdge {
  database: string;
  from: string; // schema.table that holds the key
  to: string; // schema.table it references
  name: string;
}

/** CONTRACT (issue 7, added by item 6): a materialized view that reads (directly or through views) truncated tables. */
export interface MaterializedViewPlan {
  database: string;
  /** schema.name */
  name: string;
  /** The truncated tables it reads, schema.table. */
  dependsOn: string[];
  /** Rows it holds now. */
  rows: number;
  /** Whether the reset refreshes it after the seeds (database.refreshMaterializedViews); if not, it keeps these rows. */
  refresh: boolean;
}

export interface Plan {
  target: string;
  /** The primary database's name; the approval confirmation must equal it. */
  databaseName: string;
  /** What ar_internal_metadata says, if it exists. */
  environment?: string;
  strategy: 'replant' | 'rebuild';
  highRisk: boolean;
  tables: TablePlan[];
  foreignKeys: ForeignKeyEdge[];
  /** CONTRACT (issue 7): materialized views over truncated tables, in refresh order. */
  materializedViews?: MaterializedViewPlan[];
  blobs: { count: number; bytes: number };
  /** Objects under the configured bucket/prefix that the reset would delete (blobs the truncation drops + their variants). */
  objectsToDelete: {
    count: number;
    bytes: number;
    /** Issue 9: of up to storage.sampleSize of those blobs' keys, how many were found (HEAD; Disk: stat). */
    sample?: { checked: number; present: number };
  };
  workersAlive: number;
  claimedExecutions: number;
  pgDumpVersion: string;
  serverVersion: string;
  databaseBytes: number;
  backupDirFreeBytes: number;
  warnings: string[];
  /** Problems that make the reset impossible; an execute run stops at the plan when there are any. */
  errors: string[];
  /** How the workflow runs this target (from the worker's targets file; no secrets). */
  settings: RunSettings;
  /** SHA-256 over the plan's decisive parts (tables and actions, strategy, database): what an approval binds to. */
  digest: string;
  createdAt: string;
  /** What a restore can bring back after this reset, said before the approval (missing in plans recorded before it). */
  undo?: UndoPlan;
}

/** Whether the reset can be undone (`reset-runbook restore`), and exactly what cannot. */
export interface UndoPlan {
  /** The tables come back from the backup the run takes before anything is touched. */
  tables: true;
  /** "quarantined": every deleted file is copied first and can come back; "not-quarantined": some are deleted for good; "none": no file is deleted. */
  files: 'quarantined' | 'not-quarantined' | 'none';
  /** storage.quarantine.days: how long the bucket's lifecycle rule keeps the copies (as documented; not enforced). */
  quarantineDays?: number;
  /** One line per service whose files are deleted for good, with why. */
  cannotComeBack: string[];
  /** One line: "tables and files can come back (quarantine kept 30 days)", or what cannot. */
  summary: string;
}

export interface RunSettings {
  heartbeatTimeoutSeconds: number;
  maximumAttempts: number;
  approvalRequired: boolean;
  approvalTimeout: string;
  workersConfigured: boolean;
  storageConfigured: boolean;
  stopTimeoutSeconds: number;
  startTimeoutSeconds: number;
  /** CONTRACT (issue 7): total time compensation may spend starting the workers again (workers.restartBudgetSeconds). */
  restartBudgetSeconds?: number;
  /** CONTRACT (issue 7): backup.maxAgeMinutes: the workflow refreshes a backup that would be older at the TRUNCATE. */
  backupMaxAgeMinutes?: number;
  /** CONTRACT (issue 7): the start command, shown when the workers are left stopped. */
  startCommand?: string;
  /**
   * CONTRACT (issue 7): whether step 5 starts the workers when none was alive before the reset
   * (workers.whenNoneAliveBefore: "start" | "leave"); the plan says which.
   */
  startWorkersAtEnd?: boolean;
  /** CONTRACT (issue 7): the target has notification webhooks (their URLs stay in the worker's environment). */
  notifications?: boolean;
}

export interface BackupFile {
  /** "primary", or an extra database's logical name. */
  database: string;
  /** The local path, or `s3://<bucket>/<key>` (see location). */
  path: string;
  /** CONTRACT (issue 8): where the file is, without secrets (credentials come from the worker's AWS chain). */
  location?: BackupLocation;
  bytes: number;
  sha256: string;
  /** Entries `pg_restore --list` found in the file: proof it is a complete, readable archive. */
  tocEntries: number;
}

/**
 * CONTRACT (issue 8): a backup file on the worker's disk (backup.dir) or in the S3 destination. A local
 * file names the host whose worker wrote it (absent in records written before): a worker elsewhere
 * that cannot read it says where it is.
 */
export type BackupLocation = { kind: 'local'; path: string; host?: string } | { kind: 's3'; bucket: string; key: string; region?: string; endpoint?: string };

export interface BackupRecord {
  files: BackupFile[];
  serverVersion: string;
  pgDumpVersion: string;
  createdAt: string;
  /**
   * The restore drill (backup.verify "restore"): every database restored into a scratch database and
   * its tables' rows equal to the source's at the dump's snapshot. Absent: the files were only read by
   * `pg_restore --list` (backup.verify "list"), which does not prove they restore.
   */
  drill?: DrillReport;
}

export interface DrillDatabase {
  database: string;
  /** The scratch database it was restored into (dropped since). */
  scratch: string;
  /** Every table: rows in the source at the dump's snapshot, and after pg_restore into the scratch database. */
  tables: { table: string; source: number; restored: number }[];
  rows: number;
  restoreSeconds: number;
}

export interface DrillReport {
  databases: DrillDatabase[];
  tables: number;
  rows: number;
  /** Always true in a recorded backup: a drill that finds a difference fails the step. */
  equal: boolean;
}

/** One line for a backup's proof: what the drill found, or that only its table of contents was read. */
export function backupProof(b: Pick<BackupRecord, 'drill'>): string {
  const d = b.drill;
  if (!d) return 'checked with pg_restore --list only: not proven restorable (backup.verify "restore" runs a restore drill)';
  return `restore drill: ${d.tables} tables, ${d.rows} rows, ${d.equal ? 'equal' : 'DIFFERENT'}`;
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
  objectsDeleted?: { count: number; bytes: number; errors: number; alreadyGone?: number; missing?: number; missingSample?: string[] };
  /** The accounts after the reset: a count and roles, never logins (history is readable by all UI users). */
  accounts?: AccountsSummary;
  stepDurationsMs?: Partial<Record<StepName, number>>;
  /** CONTRACT (issue 7): why the run ended; set on every ending. */
  endReason?: EndReason;
  /** CONTRACT (issue 7): the workers' final state (see WorkersState). */
  workers?: WorkersState;
  /**
   * Issue 8: set when the run ended (aborted, failed) after its TRUNCATE committed: the exact command
   * that restores the backup this run took, e.g. `reset-runbook restore demo --run <run id>`.
   */
  restoreCommand?: string;
}

// ---- Issue 8: the restore (undo a reset) ----

/** The single JSON object a restore takes (Web UI's Start Workflow, `temporal workflow start`, the CLI). */
export interface RestoreInput {
  target: string;
  /** The reset run whose backup to restore; default: the latest run of workflow `reset-<target>`. */
  resetRunId?: string;
  /** One of that run's (or a recent run's) backup files, to choose it by path; its checksum must be on record. */
  backupPath?: string;
  /** The database's name typed in advance; a wrong value fails the run before anything is touched. An approval is always asked for. */
  confirmation?: string;
  approvalTimeout?: string;
  /** Accept that rows written after the reset (listed in the plan) are discarded; without it such a restore is refused. */
  discardNewerRows?: boolean;
}

export interface RestorePlan {
  target: string;
  databaseName: string;
  /** The restore is not a schema rebuild; the approval asks for the database's name only. */
  highRisk: false;
  /** The reset run whose backup this is (its quarantined objects are found by this id). */
  resetRunId?: string;
  backup: BackupRecord;
  backupAgeMinutes: number;
  /** Every file's SHA-256 was recomputed and equals the record. */
  checksumsOk: boolean;
  /** Rows per `database/schema.table` in the backup: the reset's countsBefore (taken just before its TRUNCATE). */
  countsInBackup?: Record<string, number>;
  /** Rows per table now. */
  countsNow: Record<string, number>;
  /** The tables the restore empties and reloads from the backup (the reset's truncated set). */
  tables: { database: string; table: string; rowsNow: number; rowsInBackup?: number }[];
  /** Tables holding more rows than when the reset step ended: the restore discards those (queue: Solid Queue's own state). */
  newerRows?: { database: string; table: string; rowsNow: number; rowsAfterReset: number; queue: boolean }[];
  /** objects: S3 copies and Disk files; folders: the Disk services' quarantine folders of the run (bucket is '' with no S3 service). */
  quarantine?: { bucket: string; prefix: string; objects: number; bytes: number; folders?: string[] };
  /** Files the purge removed that cannot come back (no quarantine, gone from it, or missing before the reset), from the purge's progress record. */
  objectsMissing?: number;
  warnings: string[];
  errors: string[];
  settings: RunSettings;
  digest: string;
  createdAt: string;
}

export interface RestoreResult {
  target: string;
  outcome: 'completed' | 'failed' | 'aborted' | 'rejected';
  endReason?: EndReason;
  message?: string;
  plan?: RestorePlan;
  restored?: { tables: number; rows: number };
  objectsRestored?: { count: number; bytes: number };
  /** Purged files that did not come back: their restored blob rows point at missing files. */
  objectsMissing?: number;
  verify?: { ok: boolean; report: string; mismatches: string[] };
  workers?: WorkersState;
  stepDurationsMs?: Partial<Record<StepName, number>>;
}

/** Heartbeat details of long activities: what `follow` shows as a progress bar. */
export interface HeartbeatProgress {
  unit: 'bytes' | 'objects' | 'tables' | 'processes';
  done: number;
  total?: number;
  /** Opaque resume position (e.g. the last key deleted). */
  position?: string;
}
