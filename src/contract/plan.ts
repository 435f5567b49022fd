/**
 * What a reset's plan reports (the planReset activity's result): the tables, keys, views and files a
 * reset would touch, and the target's settings the workflow runs with. The approval binds to its digest.
 */

export interface TablePlan {
  database: string; // the logical name: "primary", or an extra database's name
  schema: string;
  table: string;
  rows: number; // exact count, unless estimated
  /** Rows is pg_class.reltuples (a large table, plan.estimateAboveRows), not a count; shown with "≈". */
  estimated?: boolean;
  action: 'truncate' | 'keep';
}

export interface ForeignKeyEdge {
  database: string;
  from: string; // schema.table that holds the key
  to: string; // schema.table it references
  name: string;
}

/** A materialized view that reads (directly or through views) truncated tables. */
export interface MaterializedViewPlan {
  database: string;
  /** schema.name */
  name: string;
  /** The truncated tables it reads, schema.table. */
  dependsOn: string[];
  /** Rows it holds now. */
  rows: number;
  /**
   * Whether the reset refreshes it after the seeds (database.refreshMaterializedViews); if not, it keeps these rows.
   */
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
  /** Materialized views over truncated tables, in refresh order. */
  materializedViews?: MaterializedViewPlan[];
  blobs: { count: number; bytes: number };
  /**
   * Objects under the configured bucket/prefix that the reset would delete (blobs the truncation drops + their
   * variants).
   */
  objectsToDelete: {
    count: number;
    bytes: number;
    /** Of up to storage.sampleSize of those blobs' keys, how many were found (HEAD; Disk: stat). */
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
  /** The try of the plan's activity that made it, when it had to be tried again (the plan's row counts them). */
  attempt?: number;
  /** What a restore can bring back after this reset, said before the approval (missing in plans recorded before it). */
  undo?: UndoPlan;
}

/** Whether the reset can be undone (`reset-runbook restore`), and exactly what cannot. */
export interface UndoPlan {
  /** The tables come back from the backup the run takes before anything is touched. */
  tables: true;
  /**
   * "quarantined": every deleted file is copied first and can come back; "not-quarantined": some are deleted for good;
   * "none": no file is deleted.
   */
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
  /** approval.required as a number: distinct approvals needed (absent: 1, as in plans from before it). */
  approvalsRequired?: number;
  /** approval.approvers: the identities that may approve (absent or empty: anyone). */
  approvers?: string[];
  /** approval.allowSelfApproval (absent: true, as before it existed). */
  allowSelfApproval?: boolean;
  workersConfigured: boolean;
  storageConfigured: boolean;
  stopTimeoutSeconds: number;
  startTimeoutSeconds: number;
  /** Total time compensation may spend starting the workers again (workers.restartBudgetSeconds). */
  restartBudgetSeconds?: number;
  /** backup.maxAgeMinutes: the workflow refreshes a backup that would be older at the TRUNCATE. */
  backupMaxAgeMinutes?: number;
  /** The start command, shown when the workers are left stopped. */
  startCommand?: string;
  /**
   * Whether step 5 starts the workers when none was alive before the reset
   * (workers.whenNoneAliveBefore: "start" | "leave"); the plan says which.
   */
  startWorkersAtEnd?: boolean;
  /**
   * workers.startBeforePurge: step 5 runs right after step 3, before the purge (step 4), so the workers
   * are stopped only for the TRUNCATE and the seeds. Absent (plans from before it, or false): the
   * runbook's order, purge then start.
   */
  startWorkersBeforePurge?: boolean;
  /** The target has notification webhooks (their URLs stay in the worker's environment). */
  notifications?: boolean;
}
