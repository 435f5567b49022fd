/** A plan as the plan activity returns it, for workflow unit tests with mocked activities. */
import type { Plan } from '../../src/contract';

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
