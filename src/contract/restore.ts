/**
 * The restore (undo a reset): its input, the plan its approval shows, and its result.
 */
import type { ApprovalRecord } from './approval-record';
import type { BackupRecord } from './backup';
import type { RunSettings } from './plan';
import type { EndReason, WorkersState } from './run-state';
import type { StepName } from './steps';

/** The single JSON object a restore takes (Web UI's Start Workflow, `temporal workflow start`, the CLI). */
export interface RestoreInput {
  target: string;
  /** The reset run whose backup to restore; default: the latest run of workflow `reset-<target>`. */
  resetRunId?: string;
  /** One of that run's (or a recent run's) backup files, to choose it by path; its checksum must be on record. */
  backupPath?: string;
  /**
   * The database's name typed in advance; a wrong value fails the run before anything is touched. An approval is always
   * asked for.
   */
  confirmation?: string;
  approvalTimeout?: string;
  /**
   * Accept that rows written after the reset (listed in the plan) are discarded; without it such a restore is refused.
   */
  discardNewerRows?: boolean;
  /**
   * Who starts the restore (`reset-runbook restore` sends its identity): the target's four-eyes rules apply to it as to
   * a reset's starter (approval.allowSelfApproval).
   */
  startedBy?: string;
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
  /**
   * Tables holding more rows than when the reset step ended: the restore discards those (queue: Solid Queue's own
   * state).
   */
  newerRows?: { database: string; table: string; rowsNow: number; rowsAfterReset: number; queue: boolean }[];
  /**
   * objects: S3 copies and Disk files; folders: the Disk services' quarantine folders of the run (bucket is '' with no
   * S3 service).
   */
  quarantine?: { bucket: string; prefix: string; objects: number; bytes: number; folders?: string[] };
  /**
   * Files the purge removed that cannot come back (no quarantine, gone from it, or missing before the reset), from the
   * purge's progress record.
   */
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
  /** Who started the restore, and the approvals it counted where the target counts them by identity (as a reset's). */
  startedBy?: string;
  approvals?: ApprovalRecord[];
  /** Who said no while it waited for approval (the restore ends "rejected", nothing touched). */
  rejectedBy?: { identity?: string; reason?: string; at: string };
}
