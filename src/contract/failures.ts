/**
 * The type names of the ApplicationFailures our workflows and activities throw. Scripts, the CLI and
 * tests tell endings apart by them (`failure.type`), so they are a contract like any other: one list,
 * which test/unit/contract.test.ts checks every `'Xyz'` failure type in src/ against.
 */
export const FAILURE_TYPES = [
  // Refused before anything was touched.
  'BadInput',
  'BadConfig',
  'UnknownTarget',
  'UnknownGroup',
  'MissingSecret',
  'ResetRefused',
  'RestoreRefused',
  'FleetRefused',
  'RestorePlanFailed',
  'DatabaseLocked',
  'PlanChanged',
  'BackupTooOld',
  'BackupOnOtherHost',
  'BackupChecksumMismatch',
  'ManifestMissing',
  'ManifestElsewhere',
  'ManifestDamaged',
  'DrillRefused',
  'ApprovalTimedOut',
  'RunRejected',
  // A step's own failure.
  'BackupFailed',
  'BackupUnreadable',
  'BackupCopyFailed',
  'StorageUnavailable',
  'PurgeRecordUnreadable',
  'RestoreIncomplete',
  'DrillFailed',
  'VerifyMismatch',
  // How a run ended after it started changing things.
  'ResetAborted',
  'RestoreAborted',
  'FleetAborted',
  'FleetFailed',
  'CompensationFailed',
] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

/**
 * Step 6's failure when the counts are not what the target expects. The verify returns its counts either way and
 * the run fails the step on them (workflows/runbook.ts); the CLI's history reader says the same from the result.
 */
export function verifyMismatchMessage(v: { report: string; hints: readonly string[] }): string {
  return `Verify found unexpected counts:\n${v.report}\n${v.hints.join('\n')}`;
}
