/**
 * Every default of the targets file, in one place. The schema (schema.ts) fills them in when the
 * worker loads the file; the workflow uses the same numbers before a target's plan is known and for
 * histories recorded before a setting existed. Plain constants: safe in the workflow bundle.
 * The plan's own settings (timing, approval, workers' timeouts) are the contract's PLAN_DEFAULTS.
 */
import { PLAN_DEFAULTS } from '../contract';

export const DEFAULTS = {
  database: { refreshMaterializedViews: true },
  restartIdentity: false,
  seeds: { timeoutSeconds: 1800 },
  strategy: { rebuildTimeoutSeconds: 3600 },
  workers: {
    database: 'primary',
    heartbeatThresholdSeconds: 300,
    stopTimeoutSeconds: PLAN_DEFAULTS.stopTimeoutSeconds,
    startTimeoutSeconds: PLAN_DEFAULTS.startTimeoutSeconds,
    restartBudgetSeconds: 300,
    whenNoneAliveBefore: 'start',
    // The runbook's order (purge, then start) unless a target opts in: docs/operators/configure.md says why.
    startBeforePurge: false,
  },
  storage: { pageSize: 1000, concurrency: 4, sampleSize: 100, purge: true },
  quarantine: { prefix: 'reset-quarantine/', diskFolder: '.reset-quarantine' },
  backup: { keep: 5, maxAgeMinutes: 60, verify: 'list', jobs: 1 },
  approval: { required: PLAN_DEFAULTS.approvalRequired, timeout: PLAN_DEFAULTS.approvalTimeout },
  timing: {
    heartbeatTimeoutSeconds: PLAN_DEFAULTS.heartbeatTimeoutSeconds,
    maximumAttempts: PLAN_DEFAULTS.maximumAttempts,
    lockTimeoutSeconds: 10,
  },
  plan: { exactCounts: false, estimateAboveRows: 100_000 },
} as const;
