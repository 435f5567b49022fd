/** Plans as the plan activities return them, for workflow unit tests with mocked activities. */
import type { Plan, RestorePlan } from '../../src/contract';

export function fakePlan(target: string, over: Partial<Plan> = {}): Plan {
  return {
    target,
    databaseName: 'phonefin_production',
    environment: 'production',
    strategy: 'replant',
    highRisk: false,
    tables: [{ database: 'primary', schema: 'public', table: 'customers', rows: 5, action: 'truncate' }],
    foreignKeys: [],
    blobs: { count: 1, bytes: 10 },
    objectsToDelete: { count: 2, bytes: 20 },
    workersAlive: 1,
    claimedExecutions: 0,
    pgDumpVersion: '15.1',
    serverVersion: '15.1',
    databaseBytes: 1,
    backupDirFreeBytes: 10,
    warnings: [],
    errors: [],
    settings: {
      heartbeatTimeoutSeconds: 5,
      maximumAttempts: 1,
      approvalRequired: false,
      approvalTimeout: '1h',
      workersConfigured: true,
      storageConfigured: true,
      stopTimeoutSeconds: 5,
      startTimeoutSeconds: 5,
    },
    digest: 'd1',
    createdAt: new Date().toISOString(),
    ...over,
  };
}

/** A restore's plan as planRestore returns it: a healthy backup of `phonefin_production`, two quarantined objects. */
export function fakeRestorePlan(
  t: string,
  over: Partial<RestorePlan> = {},
  settings: Partial<RestorePlan['settings']> = {},
): RestorePlan {
  return {
    target: t,
    databaseName: 'phonefin_production',
    highRisk: false,
    resetRunId: 'reset-run-1',
    backup: {
      files: [{ database: 'primary', path: '/b/x.dump', bytes: 1, sha256: 'ab', tocEntries: 3 }],
      serverVersion: '15',
      pgDumpVersion: '15',
      createdAt: '2026-12-03T07:00:00.000Z',
    },
    backupAgeMinutes: 5,
    checksumsOk: true,
    countsInBackup: { 'primary/public.customers': 5 },
    countsNow: { 'primary/public.customers': 0 },
    tables: [{ database: 'primary', table: 'public.customers', rowsNow: 0, rowsInBackup: 5 }],
    quarantine: { bucket: 'q', prefix: 'quarantine/', objects: 2, bytes: 20 },
    warnings: [],
    errors: [],
    settings: {
      heartbeatTimeoutSeconds: 5,
      maximumAttempts: 1,
      approvalRequired: true,
      approvalTimeout: '1h',
      workersConfigured: true,
      storageConfigured: true,
      stopTimeoutSeconds: 5,
      startTimeoutSeconds: 5,
      ...settings,
    },
    digest: 'd1',
    createdAt: new Date().toISOString(),
    ...over,
  };
}
