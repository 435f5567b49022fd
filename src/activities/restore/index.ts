/**
 * Undo a reset: restore the backup a reset run took, and bring back the objects its purge quarantined.
 * One file per step: plan, database (via load.ts, the pg_restore pipeline), storage, verify.
 */
import type { ActivityDeps } from '../lib/target';
import { planRestore } from './plan';
import type { RestorePlanArgs } from './find-run';
import { restoreDatabase } from './database';
import { restoreStorage } from './storage';
import { verifyRestore } from './verify';

export function createRestoreActivities(deps: ActivityDeps) {
  return {
    /** Which backup, its checksum, and what the database holds now. Changes nothing. */
    planRestore: (args: RestorePlanArgs) => planRestore(deps, args),
    /** One transaction per database: TRUNCATE the reset's tables and load the backup's rows and sequences. */
    restoreDatabase: (args: Parameters<typeof restoreDatabase>[1]) => restoreDatabase(deps, args),
    /** Copies the reset run's quarantined objects back to their original keys. */
    restoreStorage: (args: Parameters<typeof restoreStorage>[1]) => restoreStorage(deps, args),
    /** Every table's count against the backup's. */
    verifyRestore: (args: Parameters<typeof verifyRestore>[1]) => verifyRestore(deps, args),
  };
}
