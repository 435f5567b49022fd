/** Fixed fleet states for the fleet renderers' unit tests: a plan, a fleet running, an ending. */
import type { FleetLimits, FleetProgress, FleetResult, FleetTarget } from '../../../src/contract';
import type { FleetSnapshot } from '../../../src/cli/fleet-snapshot';

const plan = (db: string, over: Partial<NonNullable<FleetTarget['plan']>> = {}): NonNullable<FleetTarget['plan']> => ({
  databaseName: db,
  environment: 'staging',
  databases: 1,
  tablesToTruncate: 12,
  rowsToTruncate: 1234,
  objectsToDelete: 40,
  warnings: [],
  errors: [],
  ...over,
});

export const LIMITS: FleetLimits = {
  targets: 3,
  databases: 4,
  maxConcurrent: 2,
  maxFailures: 0,
  batches: [1, 2],
  given: { maxConcurrent: 2, maxFailures: 0, batches: [1, '100%'] },
};

export const PLANNED: FleetTarget[] = [
  { target: 'alpha', status: 'planned', workflowId: 'reset-alpha', batch: 1, plan: plan('rr_alpha') },
  {
    target: 'beta',
    status: 'planned',
    workflowId: 'reset-beta',
    batch: 2,
    plan: plan('rr_beta', { databases: 2, rowsToTruncate: 10, warnings: ['large table events'] }),
  },
  {
    target: 'gamma',
    status: 'planned',
    workflowId: 'reset-gamma',
    batch: 2,
    plan: plan('rr_gamma', {
      environment: 'production',
      ownApproval: 'environment "production"',
      tablesToTruncate: 3,
      rowsToTruncate: 0,
      objectsToDelete: 0,
    }),
  },
];

const totals = {
  targets: 3,
  completed: 0,
  failed: 0,
  aborted: 0,
  notStarted: 0,
  running: 0,
  waiting: 0,
  workersStillStopped: 0,
};

export const AWAITING: FleetProgress = {
  kind: 'fleet',
  name: 'nightly',
  mode: 'execute',
  phase: 'awaiting-approval',
  unattended: false,
  limits: LIMITS,
  targets: PLANNED,
  approval: { fleet: 'nightly', databases: 4, since: '2026-12-03T12:00:00.000Z', deadline: '2026-12-04T12:00:00.000Z' },
  totals,
};

export const RUNNING: FleetProgress = {
  ...AWAITING,
  phase: 'running',
  approval: undefined,
  approvedBy: 'ops@host',
  batch: { index: 2, of: 2 },
  targets: [
    {
      ...PLANNED[0],
      status: 'completed',
      phase: 'completed',
      outcome: 'completed',
      endReason: 'completed',
      workers: 'running',
      detail: 'completed',
    },
    {
      ...PLANNED[1],
      status: 'running',
      phase: 'running',
      step: 'backup',
      stepStatus: 'running',
      detail: 'pg_dump rr_beta',
    },
    {
      ...PLANNED[2],
      status: 'awaiting-approval',
      phase: 'awaiting-approval',
      step: 'approval',
      detail: 'waits for its own approval',
    },
  ],
  totals: { ...totals, completed: 1, running: 1, waiting: 1 },
};

export const ENDED: FleetResult = {
  name: 'nightly',
  mode: 'execute',
  outcome: 'failed',
  endReason: 'workersStillStopped',
  message:
    '1 target(s) left their workers STOPPED: start them by hand (see each run); 1 of 3 completed, 1 failed, 0 aborted, 1 not started',
  limits: LIMITS,
  targets: [
    { ...RUNNING.targets[0], restoreCommand: 'reset-runbook restore alpha --run r1' },
    {
      ...PLANNED[1],
      status: 'failed',
      outcome: 'failed',
      endReason: 'workersStillStopped',
      workers: 'still-stopped',
      workersStoppedSince: '2026-12-03T12:01:00Z',
      startCommand: 'sudo systemctl start solid_queue',
      detail: 'WORKERS ARE STILL STOPPED',
      restoreCommand: 'reset-runbook restore beta --run r2',
    },
    { ...PLANNED[2], status: 'not-started', endReason: 'notStarted', detail: 'not started: batch 1 did not complete' },
  ],
  totals: { ...totals, completed: 1, failed: 1, notStarted: 1, workersStillStopped: 1 },
  durationMs: 125_000,
};

export function snap(over: Partial<FleetSnapshot>): FleetSnapshot {
  return {
    workflowId: 'fleet-nightly',
    runId: 'run-1',
    status: 'RUNNING',
    startTime: '2026-12-03T12:00:00.000Z',
    ...over,
  };
}
