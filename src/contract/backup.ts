/**
 * The backup a run takes before anything is touched, and the restore drill that proves it restores:
 * written by the backup activity, read by the workflow, the restore and the CLI.
 */

export interface BackupFile {
  /** "primary", or an extra database's logical name. */
  database: string;
  /** The local path, or `s3://<bucket>/<key>` (see location). */
  path: string;
  /** Where the file is, without secrets (credentials come from the worker's AWS chain). */
  location?: BackupLocation;
  /**
   * What was stored (absent in records written before backup.jobs: "custom").
   * - "custom": one `pg_dump -Fc` file; `bytes` and `sha256` are the file's.
   * - "directory": `pg_dump -Fd -j <jobs>`: a folder in backup.dir, or one tar object of that folder in
   *   S3; `bytes` and `sha256` are those of the folder's canonical tar (lib/dump-tar.ts), which is
   *   the object itself in S3. Restored with `pg_restore -j <jobs>` where the restore can run in parallel.
   */
  format?: 'custom' | 'directory';
  /** With "directory": the pg_dump jobs it was taken with, and the pg_restore jobs suggested. */
  jobs?: number;
  bytes: number;
  sha256: string;
  /** Entries `pg_restore --list` found in the file: proof it is a complete, readable archive. */
  tocEntries: number;
}

/**
 * A backup file on the worker's disk (backup.dir) or in the S3 destination. A local
 * file names the host whose worker wrote it (absent in records written before): a worker elsewhere
 * that cannot read it says where it is.
 */
export type BackupLocation =
  | { kind: 'local'; path: string; host?: string }
  | { kind: 's3'; bucket: string; key: string; region?: string; endpoint?: string };

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
  if (!d)
    return 'checked with pg_restore --list only: not proven restorable (backup.verify "restore" runs a restore drill)';
  return `restore drill: ${d.tables} tables, ${d.rows} rows, ${d.equal ? 'equal' : 'DIFFERENT'}`;
}
