/**
 * The runbook's ordering and compensation, with mocked activities on Temporal's time-skipping test
 * server (test/support/time-skipping.ts): no stack, and timers (approval timeouts, restart budgets,
 * retry delays) elapse in seconds. Every test checks the sequence of calls, because the order IS the
 * safety property.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import {
  abortSignal,
  approveSignal,
  OUTCOME_KEY,
  progressQuery,
  resetWorkflowId,
  retrySignal,
  type Plan,
  type Progress,
  type ResetInput,
} from '../../src/contract';
import { dispatchByTarget, withTimeSkippingWorker } from '../support/time-skipping';
import { recordHistory } from '../support/histories';
import { fakePlan } from '../support/fake-plan';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let env: TestWorkflowEnvironment;
// One worker for the file (creating one per test cost a second or more each): it hands each activity
// call to the mocks of the test whose target the call names.
const TASK_QUEUE = `unit-${randomUUID()}`;
const mocksByTarget = new Map<string, Activities>();
const NAMES: (keyof Activities)[] = [
  'planReset',
  'backupDatabase',
  'stopWorkers',
  'resetDatabase',
  'resetState',
  'purgeStorage',
  'startWorkers',
  'sendNotification',
  'verifyCounts',
  'acquireResetLock',
  'releaseResetLock',
];
withTimeSkippingWorker({
  taskQueue: TASK_QUEUE,
  activities: () => dispatchByTarget(NAMES, (t) => mocksByTarget.get(t)),
  ready: (e) => (env = e),
});

/** The time the workflows see (the test server's clock, moved forward by every skip). */
const serverNow = async () => new Date(await env.currentTimeMs()).toISOString();

type Calls = string[];
let lockCalls: string[] = [];
beforeEach(() => {
  lockCalls = [];
});
type Overrides = Partial<Record<keyof Activities, (calls: Calls, ...args: unknown[]) => Promise<unknown>>>;

/** The test's mock activities, registered for its plan's target (the worker hands them that target's calls). */
function mockActivities(calls: Calls, plan: Plan, over: Overrides = {}): Activities {
  const acts = makeMocks(calls, plan, over);
  mocksByTarget.set(plan.target, acts);
  return acts;
}

function makeMocks(calls: Calls, plan: Plan, over: Overrides): Activities {
  const rec =
    <T>(name: keyof Activities, value: T) =>
    async (...args: unknown[]) => {
      calls.push(name);
      if (over[name]) return over[name]!(calls, ...args);
      return value;
    };
  return {
    planReset: rec('planReset', plan),
    // Stamped with the test server's clock, which runs ahead of the wall clock once a test skipped time:
    // a wall-clock stamp would look hours old to the backup-freshness check.
    backupDatabase: async (...args: unknown[]) => {
      calls.push('backupDatabase');
      if (over.backupDatabase) return over.backupDatabase(calls, ...args);
      return {
        files: [{ database: 'primary', path: '/b/x.dump', bytes: 1, sha256: 'ab', tocEntries: 3 }],
        serverVersion: '15',
        pgDumpVersion: '15',
        createdAt: await serverNow(),
      };
    },
    stopWorkers: rec('stopWorkers', { staleProcessRows: 0, claimedByDeadProcesses: 0 }),
    resetDatabase: rec('resetDatabase', {
      manifest: { path: '/b/m.json', blobs: 1, bytes: 10 },
      countsBefore: { a: 1, k: 2 },
      countsAfter: { a: 0, k: 2 },
      truncated: { tables: 1, rows: 1 },
      kept: { tables: 1, rows: 2 },
    }),
    resetState: rec('resetState', { databaseChanged: false }),
    purgeStorage: rec('purgeStorage', { deleted: 2, bytes: 20, keptReferenced: 0 }),
    startWorkers: rec('startWorkers', { alive: 3 }),
    sendNotification: rec('sendNotification', undefined),
    verifyCounts: rec('verifyCounts', {
      ok: true,
      lines: [],
      report: 'Users: 6',
      hints: [],
      accounts: { count: 1, roles: { master: 1 } },
    }),
    // The reset lock: not in `calls` (the step order), but in `lockCalls`, which the lock tests read.
    acquireResetLock: async () => {
      lockCalls.push('acquire');
      return over.acquireResetLock ? over.acquireResetLock(calls) : [];
    },
    releaseResetLock: async () => {
      lockCalls.push('release');
      return { released: 1 };
    },
  } as unknown as Activities;
}

/** The activities were registered by mockActivities; the shared worker runs them. */
async function withWorker<T>(_registered: Activities, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  return fn(TASK_QUEUE);
}

function start(taskQueue: string, input: ResetInput, workflowId = resetWorkflowId(input.target)) {
  return env.client.workflow.start('productionDataReset', { taskQueue, workflowId, args: [input] });
}

async function until(
  h: { query: (q: typeof progressQuery) => Promise<Progress> },
  pred: (p: Progress) => boolean,
  ms = 20000,
): Promise<Progress> {
  const deadline = Date.now() + ms;
  for (;;) {
    // A query right after the start may come before the workflow registered its handler: try again.
    const p = await h.query(progressQuery).catch((e) => {
      if (Date.now() > deadline) throw e;
      return undefined;
    });
    if (p && pred(p)) return p;
    if (Date.now() > deadline) throw new Error(`timed out; last progress: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const target = () => `unit-${randomUUID().slice(0, 8)}`;

test('runs the steps in the runbook order, waiting for approval before anything destructive', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, fakePlan(t)), async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute' });
    await until(h, (p) => p.phase === 'awaiting-approval');
    expect(calls).toEqual(['planReset', 'backupDatabase']);
    await h.signal(approveSignal, { confirmation: 'wrong_db' });
    const p = await until(h, (x) => Boolean(x.steps.find((s) => s.name === 'approval')?.error));
    expect(p.phase).toBe('awaiting-approval');
    expect(calls).toEqual(['planReset', 'backupDatabase']);
    await h.signal(approveSignal, { confirmation: 'phonefin_production', by: 'test' });
    const r = await h.result();
    expect(r.outcome).toBe('completed');
    expect(calls).toEqual([
      'planReset',
      'backupDatabase',
      'stopWorkers',
      'resetDatabase',
      'purgeStorage',
      'startWorkers',
      'verifyCounts',
    ]);
    expect(r.accounts).toEqual({ count: 1, roles: { master: 1 } });
    const final = await h.query(progressQuery);
    expect(final.steps.every((s) => s.status === 'done')).toBe(true);
    await recordHistory('completed-with-approval', h);
    expect(final.workers.status).toBe('running');
    expect(r.endReason).toBe('completed');
    expect(r.workers?.status).toBe('running');
    expect(final.steps.find((x) => x.name === 'reset')?.detail).toBe(
      '1 rows truncated (1 kept tables: 2 rows kept); 1 blob keys recorded',
    );
  });
});

test('plan mode reads and stops: only the plan activity runs', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, fakePlan(t)), async (tq) => {
    const h = await start(tq, { target: t, mode: 'plan' }, `plan-${t}`);
    const r = await h.result();
    expect(r.outcome).toBe('planned');
    expect(r.plan?.databaseName).toBe('phonefin_production');
    expect(calls).toEqual(['planReset']);
    await recordHistory('plan-only', h);
  });
});

test('bad input fails at once and touches nothing', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, fakePlan(t)), async (tq) => {
    await expect(
      (await start(tq, { target: t, mdoe: 'execute' } as unknown as ResetInput, `x-${t}`)).result(),
    ).rejects.toThrow(WorkflowFailedError);
    const h = await start(tq, { target: t, mode: 'execute' }, `not-the-reset-id-${t}`);
    const err = await h.result().catch((e) => e);
    expect(String(err.cause?.message)).toMatch(/workflow id "reset-/);
    expect(calls).toEqual([]);
  });
});

test('a plan with errors refuses an execute run before the backup', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(
    mockActivities(calls, fakePlan(t, { errors: ['kept table x references truncated table y'] })),
    async (tq) => {
      const err = await (await start(tq, { target: t, mode: 'execute' })).result().catch((e) => e);
      expect(err.cause?.type).toBe('ResetRefused');
      expect(calls).toEqual(['planReset']);
    },
  );
});

test('a failed reset brings the workers back, waits, and a retry stops them again and finishes', async () => {
  const t = target();
  const calls: Calls = [];
  let resets = 0;
  const acts = mockActivities(calls, fakePlan(t, { environment: 'development' }), {
    resetDatabase: async () => {
      if (++resets === 1) throw ApplicationFailure.nonRetryable('TRUNCATE could not lock its tables within 1s');
      return {
        manifest: { path: '/m', blobs: 0, bytes: 0 },
        countsBefore: {},
        countsAfter: {},
        truncated: { tables: 0, rows: 0 },
        kept: { tables: 0, rows: 0 },
      };
    },
  });
  await withWorker(acts, async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute', confirmation: 'phonefin_production' });
    const p = await until(h, (x) => x.phase === 'waiting-for-operator');
    expect(p.waiting?.step).toBe('reset');
    expect(p.waiting?.error).toMatch(/could not lock/);
    expect(p.workers.status).toBe('running');
    expect(p.waiting?.workersRestarted).toBe(true);
    expect(calls).toEqual(['planReset', 'backupDatabase', 'stopWorkers', 'resetDatabase', 'startWorkers']);
    await h.signal(retrySignal);
    const r = await h.result();
    expect(r.outcome).toBe('completed');
    expect(calls).toEqual([
      'planReset',
      'backupDatabase',
      'stopWorkers',
      'resetDatabase',
      'startWorkers',
      'stopWorkers',
      'resetDatabase',
      'purgeStorage',
      'startWorkers',
      'verifyCounts',
    ]);
    await recordHistory('reset-failed-then-retried', h);
  });
});

test('abort while waiting ends the run as aborted, with the workers running', async () => {
  const t = target();
  const calls: Calls = [];
  const acts = mockActivities(calls, fakePlan(t), {
    purgeStorage: async () => {
      throw ApplicationFailure.nonRetryable('S3 refused to delete 3 object(s)');
    },
  });
  await withWorker(acts, async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute' });
    await until(h, (x) => x.phase === 'awaiting-approval');
    await h.signal(approveSignal, { confirmation: 'phonefin_production' });
    await until(h, (x) => x.phase === 'waiting-for-operator');
    await h.signal(abortSignal, { reason: 'test', by: 'jest' });
    const err = await h.result().catch((e) => e);
    expect(err.cause?.type).toBe('ResetAborted');
    expect(calls).toEqual([
      'planReset',
      'backupDatabase',
      'stopWorkers',
      'resetDatabase',
      'purgeStorage',
      'startWorkers',
    ]);
    const p = await h.query(progressQuery);
    expect(p.phase).toBe('aborted');
    // Step 5 is where people look for the workers: it says the pause's restart brought them back.
    expect(p.workers.status).toBe('running');
    expect(p.steps.find((x) => x.name === 'startWorkers')?.detail).toMatch(
      /^not run as a step: the run had started the workers again \(compensation\); it ended: Aborted by jest/,
    );
    await recordHistory('purge-failed-then-aborted', h);
  });
});

test('cancelling the run after the workers stopped restarts them first', async () => {
  const t = target();
  const calls: Calls = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const acts = mockActivities(calls, fakePlan(t, { environment: 'development' }), {
    resetDatabase: async (c) => {
      await gate; // hold the step so that the cancellation lands while workers are stopped
      c.push('resetDatabase:finished');
      throw ApplicationFailure.nonRetryable('interrupted');
    },
  });
  await withWorker(acts, async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute', confirmation: 'phonefin_production' });
    await until(h, (x) => x.currentStep === 'reset');
    await h.cancel();
    try {
      // The run waits for the step in flight: no worker is started under a running TRUNCATE.
      await new Promise((r) => setTimeout(r, 1500));
      expect(calls).not.toContain('startWorkers');
    } finally {
      release(); // else a failed expectation leaves the worker waiting on the gate forever
    }
    await expect(h.result()).rejects.toThrow(WorkflowFailedError);
    // Then the journal is asked whether the TRUNCATE committed, for the restore hint.
    expect(calls.slice(-3)).toEqual(['resetDatabase:finished', 'startWorkers', 'resetState']);
    expect(calls).toContain('stopWorkers');
    expect(calls).not.toContain('purgeStorage');
  });
});

test('no approval before the deadline ends the run with nothing changed', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, fakePlan(t)), async (tq) => {
    const err = await (await start(tq, { target: t, mode: 'execute', approvalTimeout: '2s' })).result().catch((e) => e);
    expect(err.cause?.type).toBe('ApprovalTimedOut');
    expect(calls).toEqual(['planReset', 'backupDatabase']);
    expect(err.cause?.details?.[0]).toMatchObject({
      outcome: 'failed',
      endReason: 'approvalTimedOut',
      workers: { status: 'untouched' },
    });
    const p = await env.client.workflow.getHandle(resetWorkflowId(t)).query(progressQuery);
    expect(p.steps.find((x) => x.name === 'approval')).toMatchObject({
      status: 'failed',
      error: 'no approval before the deadline',
    });
    expect(p.steps.filter((x) => ['running', 'waiting-for-operator', 'pending'].includes(x.status))).toEqual([]);
  });
});

test('a high-risk plan needs the second, distinct confirmation', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, fakePlan(t, { strategy: 'rebuild', highRisk: true })), async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute' });
    await until(h, (x) => x.phase === 'awaiting-approval');
    await h.signal(approveSignal, { confirmation: 'phonefin_production' });
    const p = await until(h, (x) => /REBUILD/.test(x.steps.find((s) => s.name === 'approval')?.error ?? ''));
    expect(p.phase).toBe('awaiting-approval');
    await h.signal(approveSignal, {
      confirmation: 'phonefin_production',
      highRiskConfirmation: 'REBUILD phonefin_production',
    });
    expect((await h.result()).outcome).toBe('completed');
  });
});

test('a second execute run of the same target is refused while one runs', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, fakePlan(t)), async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute' });
    await until(h, (x) => x.phase === 'awaiting-approval');
    await expect(start(tq, { target: t, mode: 'execute' })).rejects.toThrow(/already started/i);
    await h.signal(abortSignal, { reason: 'done testing' });
    await h.result().catch(() => undefined);
  });
});

const settings = (p: Plan, over: Partial<Plan['settings']>): Plan => ({ ...p, settings: { ...p.settings, ...over } });
const activeStates = ['running', 'waiting-for-operator', 'pending'];

test('a restart that never brings the workers back ends the run as failed, workersStillStopped, every step final', async () => {
  const t = target();
  const calls: Calls = [];
  const plan = settings(fakePlan(t, { environment: 'development' }), {
    startTimeoutSeconds: 1,
    restartBudgetSeconds: 12,
    startCommand: 'sudo systemctl start solid_queue',
    notifications: true,
  });
  const events: string[] = [];
  const acts = mockActivities(calls, plan, {
    sendNotification: async (c, m) => {
      events.push((m as { event: string }).event);
    },
    resetDatabase: async () => {
      throw ApplicationFailure.nonRetryable('Seed command failed');
    },
    startWorkers: async () => {
      await new Promise((r) => setTimeout(r, 1000));
      throw new Error('No Solid Queue heartbeat within 1s');
    },
  });
  await withWorker(acts, async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute', confirmation: 'phonefin_production' });
    // The attempts are visible while they run: what `abort` and `follow` show.
    const live = await until(h, (x) => x.phase === 'compensating' && x.workers.restart?.attempt === 2);
    expect(live.workers).toMatchObject({ status: 'restarting', restart: { attempt: 2, maxAttempts: 2 } });
    const err = await h.result().catch((e) => e);
    expect(err.cause?.type).toBe('CompensationFailed');
    const r = err.cause?.details?.[0];
    expect(r.outcome).toBe('failed');
    expect(r.endReason).toBe('workersStillStopped');
    expect(r.workers).toMatchObject({
      status: 'still-stopped',
      startCommand: 'sudo systemctl start solid_queue',
      restart: { attempt: 2, maxAttempts: 2, lastError: expect.stringMatching(/No Solid Queue heartbeat/) },
    });
    expect(err.cause?.message).toBe(
      `WORKERS ARE STILL STOPPED since ${r.workers.stoppedSince} — start them by hand: sudo systemctl start solid_queue`,
    );
    expect(calls.filter((c) => c === 'startWorkers')).toHaveLength(2);
    // People are told once, and told the worst: not a plain "failed" besides.
    expect(events).toEqual(['workersStillStopped']);
    const p = await h.query(progressQuery);
    expect(p.phase).toBe('failed');
    expect(p.steps.filter((x) => activeStates.includes(x.status))).toEqual([]);
    expect(p.steps.find((x) => x.name === 'reset')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^Seed command failed/),
    });
    // Later steps were not reached because step 3 failed, not "because the workers are still stopped".
    expect(p.steps.find((x) => x.name === 'purgeStorage')?.detail).toBe(
      'not reached: the run ended after "3 Reset the database" failed',
    );
    expect(p.steps.find((x) => x.name === 'startWorkers')?.detail).toMatch(
      /starting the workers again \(compensation\) failed: WORKERS ARE STILL STOPPED/,
    );
    const sa = (await h.describe()).typedSearchAttributes;
    expect(sa.get(OUTCOME_KEY)).toBe('failed');
    await recordHistory('workers-still-stopped', h);
  });
});

test('abort while awaiting approval: the approval step failed (not running), the rest not reached', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, fakePlan(t)), async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute' });
    await until(h, (x) => x.phase === 'awaiting-approval');
    await h.signal(abortSignal, { reason: 'wrong day', by: 'jest' });
    const err = await h.result().catch((e) => e);
    expect(err.cause?.type).toBe('ResetAborted');
    expect(err.cause?.details?.[0]).toMatchObject({
      outcome: 'aborted',
      endReason: 'aborted',
      workers: { status: 'untouched' },
    });
    const p = await h.query(progressQuery);
    expect(p.steps.find((x) => x.name === 'approval')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/Aborted by jest: wrong day/),
    });
    expect(p.steps.find((x) => x.name === 'reset')).toMatchObject({ status: 'skipped' });
    expect(p.steps.filter((x) => activeStates.includes(x.status))).toEqual([]);
  });
});

test('abort at a pause: the paused step becomes failed with its error kept; attempts count every activity attempt', async () => {
  const t = target();
  const calls: Calls = [];
  let backups = 0;
  const acts = mockActivities(calls, settings(fakePlan(t, { environment: 'development' }), { maximumAttempts: 2 }), {
    backupDatabase: async () => {
      if (++backups === 1) throw new Error('pg_dump: connection lost');
      return { files: [], serverVersion: '15', pgDumpVersion: '15', createdAt: await serverNow() };
    },
    purgeStorage: async () => {
      throw new Error('S3 refused to delete 3 object(s)');
    },
  });
  await withWorker(acts, async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute', confirmation: 'phonefin_production' });
    const paused = await until(h, (x) => x.phase === 'waiting-for-operator');
    expect(paused.waiting).toMatchObject({ step: 'purgeStorage', workersRestarted: true });
    expect(paused.steps.find((x) => x.name === 'backup')?.attempts).toBe(2);
    expect(paused.steps.find((x) => x.name === 'purgeStorage')?.attempts).toBe(2);
    expect(calls.filter((c) => c === 'purgeStorage')).toHaveLength(2);
    await h.signal(abortSignal, { reason: 'test', by: 'jest' });
    const err = await h.result().catch((e) => e);
    expect(err.cause?.details?.[0]).toMatchObject({
      outcome: 'aborted',
      endReason: 'aborted',
      workers: { status: 'running' },
    });
    const p = await h.query(progressQuery);
    expect(p.steps.find((x) => x.name === 'purgeStorage')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^S3 refused to delete 3 object\(s\).*Aborted by jest/),
    });
    expect(p.abortRequested).toMatchObject({ by: 'jest', reason: 'test' });
    expect(p.steps.filter((x) => activeStates.includes(x.status))).toEqual([]);
  });
});

test('a backup that would be too old at the TRUNCATE is taken again before the workers stop; never once the TRUNCATE committed', async () => {
  const t = target();
  const calls: Calls = [];
  let resets = 0;
  const acts = mockActivities(calls, settings(fakePlan(t), { backupMaxAgeMinutes: 0.02 }), {
    resetDatabase: async () => {
      if (++resets === 1)
        throw ApplicationFailure.nonRetryable('Seed command failed; the tables are already truncated');
      return {
        manifest: { path: '/m', blobs: 0, bytes: 0 },
        countsBefore: {},
        countsAfter: {},
        truncated: { tables: 0, rows: 0 },
        kept: { tables: 0, rows: 0 },
      };
    },
    resetState: async () => ({ databaseChanged: true }),
  });
  await withWorker(acts, async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute' });
    await until(h, (x) => x.phase === 'awaiting-approval');
    await env.sleep('2s'); // older than 0.02 min = 1.2 s, in the workflow's time
    await h.signal(approveSignal, { confirmation: 'phonefin_production' });
    await until(h, (x) => x.phase === 'waiting-for-operator');
    expect(calls).toEqual([
      'planReset',
      'backupDatabase',
      'backupDatabase',
      'stopWorkers',
      'resetDatabase',
      'startWorkers',
    ]);
    await env.sleep('2s');
    await h.signal(retrySignal);
    const r = await h.result();
    expect(r.outcome).toBe('completed');
    // The retry asked whether the TRUNCATE had committed, and it had: no backup of the emptied database.
    expect(calls.slice(6)).toEqual([
      'resetState',
      'stopWorkers',
      'resetDatabase',
      'purgeStorage',
      'startWorkers',
      'verifyCounts',
    ]);
    const p = await h.query(progressQuery);
    expect(p.steps.find((x) => x.name === 'backup')?.detail).toMatch(/^refreshed: /);
  });
});

test('no worker alive before and whenNoneAliveBefore "leave": the workers are stopped for the TRUNCATE and left stopped, also after a failure', async () => {
  const plan = (t: string) =>
    settings(fakePlan(t, { environment: 'development', workersAlive: 0 }), { startWorkersAtEnd: false });
  // Completed: step 5 is skipped and says why; the final state says "left stopped", not "running".
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, plan(t)), async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute', confirmation: 'phonefin_production' });
    const r = await h.result();
    expect(r.outcome).toBe('completed');
    expect(calls).toEqual([
      'planReset',
      'backupDatabase',
      'stopWorkers',
      'resetDatabase',
      'purgeStorage',
      'verifyCounts',
    ]);
    expect(r.workers?.status).toBe('left-stopped');
    const p = await h.query(progressQuery);
    expect(p.steps.find((x) => x.name === 'startWorkers')).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/none was alive before the reset/),
    });
  });
  // A failure after the stop: no compensation start either, and the pause says the workers were not started.
  const t2 = target();
  const calls2: Calls = [];
  const acts = mockActivities(calls2, plan(t2), {
    resetDatabase: async () => {
      throw ApplicationFailure.nonRetryable('Seed command failed');
    },
  });
  await withWorker(acts, async (tq) => {
    const h = await start(tq, { target: t2, mode: 'execute', confirmation: 'phonefin_production' });
    const paused = await until(h, (x) => x.phase === 'waiting-for-operator');
    expect(paused.waiting?.workersRestarted).toBe(false);
    await h.signal(abortSignal, { reason: 'test' });
    const err = await h.result().catch((e) => e);
    expect(err.cause?.details?.[0]).toMatchObject({ outcome: 'aborted', workers: { status: 'left-stopped' } });
    expect(calls2).not.toContain('startWorkers');
  });
});

test('a database held by another run: the run is refused before the backup, naming the holder; nothing else runs', async () => {
  const t = target();
  const calls: Calls = [];
  const holder =
    'database "phonefin_production" is held by another reset: workflow "reset-other", run r-1 (target "other") since 2026-11-27T10:00:00.000Z';
  const acts = mockActivities(calls, fakePlan(t), {
    acquireResetLock: async () => Promise.reject(ApplicationFailure.nonRetryable(holder, 'DatabaseLocked')),
  });
  await withWorker(acts, async (tq) => {
    const err = await (await start(tq, { target: t, mode: 'execute' })).result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause?.type).toBe('ResetRefused');
    expect(err.cause?.message).toContain('nothing was touched');
    expect(err.cause?.message).toContain('workflow "reset-other", run r-1');
    expect(calls).toEqual(['planReset']);
  });
});

test('the reset lock is taken once before the backup and given back at every ending; a plan run takes none', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, fakePlan(t, { environment: 'development' })), async (tq) => {
    await (await start(tq, { target: t, mode: 'plan' }, `plan-${t}`)).result();
    expect(lockCalls).toEqual([]);
    const r = await (await start(tq, { target: t, mode: 'execute', confirmation: 'phonefin_production' })).result();
    expect(r.outcome).toBe('completed');
    expect(lockCalls).toEqual(['acquire', 'release']);
  });
  lockCalls = [];
  const failing = mockActivities([], fakePlan(t, { environment: 'development' }), {
    backupDatabase: async () => Promise.reject(ApplicationFailure.nonRetryable('disk full')),
  });
  await withWorker(failing, async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute', confirmation: 'phonefin_production' });
    await until(h, (p) => p.phase === 'waiting-for-operator');
    expect(lockCalls).toEqual(['acquire']);
    await h.signal(abortSignal, { reason: 'test' });
    await h.result().catch(() => undefined);
    expect(lockCalls).toEqual(['acquire', 'release']);
  });
});

// Timers at their production lengths, elapsed in seconds: the test server skips time while the test
// waits on a result (or calls env.sleep) and no activity runs.

test('the default 24 h approval timeout: still waiting after 23 h, ended with nothing changed after 24 h', async () => {
  const t = target();
  const calls: Calls = [];
  await withWorker(mockActivities(calls, settings(fakePlan(t), { approvalTimeout: '24h' })), async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute' });
    // The deadline is the workflow's own (its timer started before this test reads the clock).
    const { approval } = await until(h, (x) => x.phase === 'awaiting-approval');
    expect(Date.parse(approval!.deadline) - Date.parse(approval!.since)).toBe(24 * 3600_000);
    await env.sleep('23h');
    expect((await h.query(progressQuery)).phase).toBe('awaiting-approval');
    const err = await h.result().catch((e) => e);
    expect(err.cause?.type).toBe('ApprovalTimedOut');
    expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(Date.parse(approval!.deadline));
    expect(calls).toEqual(['planReset', 'backupDatabase']);
    expect(err.cause?.details?.[0]).toMatchObject({
      outcome: 'failed',
      endReason: 'approvalTimedOut',
      workers: { status: 'untouched' },
    });
  });
});

test('the default 300 s restart budget: attempts paused 2, 4, 8, 16, 32, 60… s apart until the budget is spent, then workersStillStopped', async () => {
  const t = target();
  const calls: Calls = [];
  const at: number[] = [];
  // restartBudgetSeconds left out: the 300 s default; 5 s start timeout + 5 s pause → at most 30 attempts.
  const plan = settings(fakePlan(t, { environment: 'development' }), {
    startTimeoutSeconds: 5,
    startCommand: 'systemctl start solid_queue',
  });
  const acts = mockActivities(calls, plan, {
    resetDatabase: async () => {
      throw ApplicationFailure.nonRetryable('Seed command failed');
    },
    startWorkers: async () => {
      at.push(await env.currentTimeMs());
      throw new Error('No Solid Queue heartbeat within 5s');
    },
  });
  await withWorker(acts, async (tq) => {
    const h = await start(tq, { target: t, mode: 'execute', confirmation: 'phonefin_production' });
    const err = await h.result().catch((e) => e);
    expect(err.cause?.type).toBe('CompensationFailed');
    expect(err.cause?.details?.[0]).toMatchObject({
      endReason: 'workersStillStopped',
      workers: { status: 'still-stopped', restart: { maxAttempts: 30 } },
    });
    // The pauses (seconds of workflow time, rounded) follow retryDelayMs; the 10th attempt would start after 300 s.
    const gaps = at.slice(1).map((x, i) => Math.round((x - at[i]) / 1000));
    expect(gaps).toEqual([2, 4, 8, 16, 32, 60, 60, 60]);
    expect(calls.filter((c) => c === 'startWorkers')).toHaveLength(9);
  });
});

test('a step retried by the workflow waits 2 s, then 4 s, between attempts', async () => {
  const t = target();
  const calls: Calls = [];
  const at: number[] = [];
  const acts = mockActivities(calls, settings(fakePlan(t, { environment: 'development' }), { maximumAttempts: 3 }), {
    verifyCounts: async () => {
      at.push(await env.currentTimeMs());
      if (at.length < 3) throw new Error('connection reset');
      return { ok: true, lines: [], report: 'Users: 6', hints: [], accounts: { count: 1, roles: { master: 1 } } };
    },
  });
  await withWorker(acts, async (tq) => {
    const r = await (await start(tq, { target: t, mode: 'execute', confirmation: 'phonefin_production' })).result();
    expect(r.outcome).toBe('completed');
    expect(at.slice(1).map((x, i) => Math.round((x - at[i]) / 1000))).toEqual([2, 4]);
  });
});
