/**
 * How the workflow calls each step: timeouts and retries per activity. Every activity heartbeats,
 * so a killed worker is noticed after `heartbeatTimeout`, and the step is retried on another.
 * After `maximumAttempts` the runbook asks an operator.
 */
import {
  ActivityCancellationType,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { DEFAULTS } from '../config/defaults';
import { PLAN_DEFAULTS, STEP_TITLES, type RunSettings, type StepName } from '../contract';

function options(
  step: StepName,
  s: RunSettings,
  startToCloseSeconds: number,
  maximumAttempts = s.maximumAttempts,
): ActivityOptions {
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

/**
 * The plan's heartbeat timeout. The plan runs before the target's settings are known (it is what
 * reads them), so it cannot use the target's; its keepalive beats every 2 s whatever it waits on, so
 * a short fixed timeout costs nothing and a worker killed during the plan is noticed within 5 s (it
 * was 30 s: 35 s before the run moved again).
 */
export const PLAN_HEARTBEAT_TIMEOUT_SECONDS = 5;

/** The plan is retried by its policy (its attempts are not a step's), the first time 1 s after its failure. */
function planOptions(startToCloseSeconds: number): ActivityOptions {
  const o = options(
    'plan',
    { ...PLAN_DEFAULTS, heartbeatTimeoutSeconds: PLAN_HEARTBEAT_TIMEOUT_SECONDS },
    startToCloseSeconds,
  );
  return { ...o, retry: { ...o.retry, initialInterval: '1s' } };
}

/**
 * Local (runs patched 'plan-local-activity'): the plan only reads, so running it again changes nothing, and it takes
 * a tenth of a second to a second (docs/benchmarks.md), so it runs inside the run's first workflow task: no activity
 * task, and no second workflow task before the lock and the backup (about 0.05 s of every run). Its retries are the
 * same policy, run by the worker. Two things differ, and both stay small for a short step: a worker lost during the
 * plan is noticed when the workflow task times out (5 s, as the plan's heartbeat did; 10 s for a run started
 * without the CLI), and the run answers queries once the plan is done (`status` falls back to the history meanwhile).
 * A plan asked to count every table exactly (ResetInput.exactCounts) may take minutes: it stays an activity.
 */
export function planActivities(local = false) {
  const o = planOptions(600);
  if (local)
    return proxyLocalActivities<Pick<Activities, 'planReset'>>({
      summary: o.summary,
      startToCloseTimeout: o.startToCloseTimeout,
      retry: o.retry,
    });
  return proxyActivities<Pick<Activities, 'planReset'>>(o);
}

/**
 * The steps' activities make ONE attempt each: the runbook retries them itself (see `retryDelayMs`),
 * so that every attempt is counted in the step's state, an abort is seen between attempts, and the
 * restart of the workers keeps to its time budget.
 */
export function stepActivities(s: RunSettings) {
  const once = (step: StepName, seconds: number) => proxyActivities<Activities>(options(step, s, seconds, 1));
  /**
   * Local (runs patched 'verify-local-activity'): step 6 counts the tables after the reset, which hold only the
   * seeds (0.02-0.07 s at every scale measured), and only reads: it runs inside the workflow task that follows
   * the workers' start, and the run ends in that task. One attempt, as every step's: the runbook retries it.
   */
  const local = (step: StepName, seconds: number) =>
    proxyLocalActivities<Activities>({
      summary: STEP_TITLES[step],
      startToCloseTimeout: `${seconds}s`,
      retry: { maximumAttempts: 1 },
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    });
  return {
    backup: once('backup', 12 * 3600).backupDatabase,
    stopWorkers: once('stopWorkers', s.stopTimeoutSeconds + 120).stopWorkers,
    reset: once('reset', 6 * 3600).resetDatabase,
    purgeStorage: once('purgeStorage', 12 * 3600).purgeStorage,
    startWorkers: once('startWorkers', s.startTimeoutSeconds + 120).startWorkers,
    verify: once('verify', 1800).verifyCounts,
    verifyLocal: local('verify', 1800).verifyCounts,
    /**
     * workers.startBeforePurge: the blob keys, recorded before the workers stop (retried by the server; if
     * it still fails, the reset records them all itself, as without the setting).
     */
    recordBlobKeys: proxyActivities<Activities>({
      ...options('reset', s, 6 * 3600),
      summary: 'Record the blob keys (before the workers stop)',
    }).recordBlobKeys,
    /**
     * Before a stale backup is refreshed: whether this run's TRUNCATE already changed the database (retried by the
     * server).
     */
    resetState: proxyActivities<Activities>(options('reset', s, 120)).resetState,
    /** Compensation: one attempt, cut off at what is left of the restart budget. */
    restartWorkers: (seconds: number) =>
      once('startWorkers', Math.max(5, Math.min(seconds, s.startTimeoutSeconds + 120))).startWorkers,
  };
}

/**
 * The reset lock (activities/lib/reset-lock.ts): retried by the server on a connection error; a
 * database held by another run is a final refusal (DatabaseLocked, non-retryable).
 */
export function lockActivities(s: RunSettings, local = false) {
  const retry: RetryPolicy = {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 10,
  };
  // Local (runs patched 'reset-lock-local-activity'): a few short statements, idempotent (claiming again what
  // this run holds, or giving back what it no longer holds, changes nothing), so it runs inside the workflow
  // task: no activity task and no second workflow task, about one round trip less at each end of a run. A
  // worker lost meanwhile loses the workflow task, and the next one runs it again.
  if (local) return proxyLocalActivities<Activities>({ summary: 'Reset lock', startToCloseTimeout: '120s', retry });
  return proxyActivities<Activities>({
    summary: 'Reset lock',
    startToCloseTimeout: '120s',
    heartbeatTimeout: `${s.heartbeatTimeoutSeconds}s`,
    retry,
  });
}

/** The pause before the workflow's next attempt of a step: 2 s, doubling, at most 60 s (Temporal's usual policy). */
export function retryDelayMs(attempt: number): number {
  return Math.min(60_000, 2000 * 2 ** (attempt - 1));
}

/** How long compensation may spend starting the workers again, and how many attempts fit in it. */
export function restartBudget(s: RunSettings): { budgetMs: number; maxAttempts: number } {
  // Plans recorded before the budget existed carry none: they get the default.
  const budgetMs = (s.restartBudgetSeconds ?? DEFAULTS.workers.restartBudgetSeconds) * 1000;
  // An attempt takes up to the start timeout (the command, then the wait for heartbeats), plus a pause.
  const perAttemptMs = s.startTimeoutSeconds * 1000 + 5000;
  return { budgetMs, maxAttempts: Math.max(1, Math.ceil(budgetMs / perAttemptMs)) };
}

/** The restore's activities: the plan with defaults, the steps once each (the StepRunner retries them). */
export function restoreActivities(s: RunSettings = PLAN_DEFAULTS) {
  const once = (step: StepName, seconds: number) => proxyActivities<Activities>(options(step, s, seconds, 1));
  return {
    plan: proxyActivities<Pick<Activities, 'planRestore'>>(planOptions(3600)).planRestore,
    restoreDatabase: once('restore', 12 * 3600).restoreDatabase,
    restoreStorage: once('restoreStorage', 12 * 3600).restoreStorage,
    verify: once('verify', 1800).verifyRestore,
  };
}
