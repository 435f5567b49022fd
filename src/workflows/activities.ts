/**
 * How the workflow calls each step: timeouts and retries per activity. Every activity heartbeats,
 * so a killed worker is noticed after `heartbeatTimeout`, and the step is retried on another.
 * After `maximumAttempts` the failure reaches the runbook, which asks an operator.
 */
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { STEP_TITLES, type RunSettings, type StepName } from './definitions';

/** Also the CLI's default heartbeat timeout when a run's plan is not known yet. */
export const PLAN_DEFAULTS: RunSettings = {
  heartbeatTimeoutSeconds: 30,
  maximumAttempts: 3,
  approvalRequired: false,
  approvalTimeout: '24h',
  workersConfigured: false,
  storageConfigured: false,
  stopTimeoutSeconds: 120,
  startTimeoutSeconds: 120,
};

function options(step: StepName, s: RunSettings, startToCloseSeconds: number, maximumAttempts = s.maximumAttempts): ActivityOptions {
  return {
    summary: STEP_TITLES[step],
    startToCloseTimeout: `${startToCloseSeconds}s`,
    heartbeatTimeout: `${s.heartbeatTimeoutSeconds}s`,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '60s', maximumAttempts },
    // A cancelled run waits for the step in flight to finish before it compensates: workers are never
    // started while a TRUNCATE is still running, and nothing is reported done that is half-done.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  };
}

/** The plan runs before the target's settings are known (it is what reads them). */
export function planActivities() {
  return proxyActivities<Pick<Activities, 'planReset'>>(options('plan', PLAN_DEFAULTS, 600));
}

export function stepActivities(s: RunSettings) {
  return {
    backup: proxyActivities<Activities>(options('backup', s, 12 * 3600)).backupDatabase,
    stopWorkers: proxyActivities<Activities>(options('stopWorkers', s, s.stopTimeoutSeconds + 120)).stopWorkers,
    reset: proxyActivities<Activities>(options('reset', s, 6 * 3600)).resetDatabase,
    purgeStorage: proxyActivities<Activities>(options('purgeStorage', s, 12 * 3600)).purgeStorage,
    startWorkers: proxyActivities<Activities>(options('startWorkers', s, s.startTimeoutSeconds + 120)).startWorkers,
    verify: proxyActivities<Activities>(options('verify', s, 1800)).verifyCounts,
    /** Compensation: more patient, since "never leave workers stopped" outranks a quick ending. */
    restartWorkers: proxyActivities<Activities>(options('startWorkers', s, s.startTimeoutSeconds + 120, Math.max(10, s.maximumAttempts))).startWorkers,
  };
}
