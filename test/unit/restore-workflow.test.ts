/**
 * The restore workflow's ordering and compensation (restoreFromBackup), with mocked activities on
 * Temporal's time-skipping test server (test/support/time-skipping.ts), as test/unit/runbook.test.ts
 * does for the reset: no stack, and timers (approval timeouts, restart budgets, retry delays) elapse in
 * workflow time. Every test checks which activities ran, in which order, and every step's final state.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import type { restoreFromBackup } from '../../src/workflows';
import {
  abortSignal,
  approveSignal,
  progressQuery,
  restoreWorkflowId,
  retrySignal,
  type Progress,
  type RestoreInput,
  type RestorePlan,
  type RestoreResult,
  type StepStatus,
} from '../../src/contract';
import { fakeRestorePlan } from '../support/fake-plan';
import { recordHistory } from '../support/histories';
import { dispatchByTarget, withTimeSkippingWorker } from '../support/time-skipping';

Runtime.install({ logger: new DefaultLogger('ERROR') });

type Name = keyof Activities;
type Calls = string[];
type Overrides = Partial<Record<Name, (calls: Calls, args: unknown) => Promise<unknown>>>;

let env: TestWorkflowEnvironment;
// One worker for the file: it hands each activity call to the mocks of the test whose target it names.
const TASK_QUEUE = `unit-restore-${randomUUID()}`;
const mocksByTarget = new Map<string, Partial<Record<Name, (args: unknown) => Promise<unknown>>>>();
const NAMES: Name[] = [
  'planRestore',
  'stopWorkers',
  'restoreDatabase',
  'restoreStorage',
  'startWorkers',
  'verifyRestore',
  'acquireResetLock',
  'releaseResetLock',
  'sendNotification',
];

withTimeSkippingWorker({
  taskQueue: TASK_QUEUE,
  activities: () => dispatchByTarget(NAMES, (t) => mocksByTarget.get(t)),
  ready: (e) => (env = e),
});

const DB = 'phonefin_production';
const target = () => `unit-r-${randomUUID().slice(0, 8)}`;

/** Records every call in `calls` (the lock's in `lockCalls`: not a step), answering as a healthy target would. */
function mockActivities(plan: RestorePlan, over: Overrides = {}): { calls: Calls; lockCalls: Calls } {
  const calls: Calls = [];
  const lockCalls: Calls = [];
  const answers: Partial<Record<Name, unknown>> = {
    planRestore: plan,
    stopWorkers: { staleProcessRows: 0, claimedByDeadProcesses: 0 },
    restoreDatabase: { tables: 1, rows: 5, mismatches: [], queueDrift: [] },
    restoreStorage: { count: 2, bytes: 20 },
    startWorkers: { alive: 3 },
    verifyRestore: { ok: true, report: 'primary/public.customers: 5', mismatches: [] },
    acquireResetLock: [],
    releaseResetLock: { released: 1 },
    sendNotification: undefined,
  };
  const mocks = Object.fromEntries(
    NAMES.map((n) => [
      n,
      async (args: unknown) => {
        (n === 'acquireResetLock' || n === 'releaseResetLock' ? lockCalls : calls).push(n);
        return over[n] ? over[n]!(calls, args) : answers[n];
      },
    ]),
  );
  mocksByTarget.set(plan.target, mocks);
  return { calls, lockCalls };
}

function start(input: RestoreInput) {
  return env.client.workflow.start<typeof restoreFromBackup>('restoreFromBackup', {
    taskQueue: TASK_QUEUE,
    workflowId: restoreWorkflowId(input.target),
    args: [input],
  });
}
type Handle = Awaited<ReturnType<typeof start>>;

async function until(h: Handle, pred: (p: Progress) => boolean, ms = 20000): Promise<Progress> {
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

/** The run's failure: its type and the RestoreResult it carries. */
async function failure(h: Handle): Promise<{ type?: string; message: string; result: RestoreResult }> {
  const err = await h.result().then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return { type: err.cause?.type, message: String(err.cause?.message), result: err.cause?.details?.[0] };
}

const states = (p: Progress): Record<string, StepStatus> => Object.fromEntries(p.steps.map((s) => [s.name, s.status]));
const step = (p: Progress, name: string) => p.steps.find((s) => s.name === name)!;
const NONE_REACHED = {
  plan: 'skipped',
  approval: 'skipped',
  stopWorkers: 'skipped',
  restore: 'skipped',
  restoreStorage: 'skipped',
  startWorkers: 'skipped',
  verify: 'skipped',
};
const EVERY_STEP_DONE = {
  plan: 'done',
  approval: 'done',
  stopWorkers: 'done',
  restore: 'done',
  restoreStorage: 'done',
  startWorkers: 'done',
  verify: 'done',
};

test('the happy path: plan, approval, stop, restore, objects back, start, verify; every step done, the result filled in', async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t));
  const h = await start({ target: t });
  const waiting = await until(h, (p) => p.phase === 'awaiting-approval');
  // Nothing but the plan (and the lock) before the approval.
  expect(m.calls).toEqual(['planRestore']);
  expect(m.lockCalls).toEqual(['acquireResetLock']);
  expect(waiting.kind).toBe('restore');
  expect(waiting.approval?.database).toBe(DB);
  expect(waiting.restorePlan?.resetRunId).toBe('reset-run-1');
  await h.signal(approveSignal, { confirmation: DB, by: 'jest' });
  const r = await h.result();
  expect(m.calls).toEqual([
    'planRestore',
    'stopWorkers',
    'restoreDatabase',
    'restoreStorage',
    'startWorkers',
    'verifyRestore',
  ]);
  expect(m.lockCalls).toEqual(['acquireResetLock', 'releaseResetLock']);
  expect(r).toMatchObject({
    target: t,
    outcome: 'completed',
    endReason: 'completed',
    restored: { tables: 1, rows: 5 },
    objectsRestored: { count: 2, bytes: 20 },
    verify: { ok: true, mismatches: [] },
    workers: { status: 'running' },
    plan: { databaseName: DB, resetRunId: 'reset-run-1' },
  });
  expect(r.message).toBeUndefined();
  const p = await h.query(progressQuery);
  expect(p.phase).toBe('completed');
  expect(states(p)).toEqual(EVERY_STEP_DONE);
  expect(step(p, 'approval').detail).toBe('approved by jest');
  expect(step(p, 'restore').detail).toBe('5 rows in 1 tables restored from /b/x.dump');
  expect(step(p, 'restoreStorage').detail).toBe('2 objects (20 bytes) brought back from q/quarantine/');
  expect(step(p, 'startWorkers').detail).toBe('3 process(es) alive');
  await recordHistory('restore-completed', h);
});

test("the restore step gets the plan's backup and counts; the storage step the plan's reset run", async () => {
  const t = target();
  const seen: Record<string, unknown> = {};
  const keep = (name: string, value: unknown) => async (_c: Calls, args: unknown) => {
    seen[name] = args;
    return value;
  };
  const plan = fakeRestorePlan(t, { resetRunId: 'reset-run-7' });
  mockActivities(plan, {
    restoreDatabase: keep('restoreDatabase', { tables: 1, rows: 5, mismatches: [], queueDrift: [] }),
    restoreStorage: keep('restoreStorage', { count: 2, bytes: 20 }),
    verifyRestore: keep('verifyRestore', { ok: true, report: '', mismatches: [] }),
  });
  const h = await start({ target: t, resetRunId: 'reset-run-7', confirmation: DB });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: DB });
  expect((await h.result()).outcome).toBe('completed');
  // Both destructive steps carry the run's lock: they run holding the database's advisory lock.
  const lock = { workflowId: h.workflowId, runId: h.firstExecutionRunId, target: t };
  expect(seen.restoreDatabase).toEqual({
    target: t,
    backup: plan.backup,
    expected: plan.countsInBackup,
    resetRunId: 'reset-run-7',
    lock,
  });
  expect(seen.restoreStorage).toEqual({ target: t, resetRunId: 'reset-run-7', lock });
  expect(seen.verifyRestore).toEqual({ target: t, expected: plan.countsInBackup, workersRunning: true });
});

test('a plan with errors is refused: rejected, nothing called after the plan, no lock taken', async () => {
  const t = target();
  const m = mockActivities(
    fakeRestorePlan(t, { errors: ['backup file /b/x.dump does not match its record'], checksumsOk: false }),
  );
  const h = await start({ target: t });
  const f = await failure(h);
  expect(f.type).toBe('RestoreRefused');
  expect(f.message).toBe(
    `Restore of "${t}" refused; nothing was touched: backup file /b/x.dump does not match its record`,
  );
  expect(f.result).toMatchObject({ outcome: 'rejected', endReason: 'refused', workers: { status: 'untouched' } });
  expect(m.calls).toEqual(['planRestore']);
  expect(m.lockCalls).toEqual([]);
  const p = await h.query(progressQuery);
  expect(p.phase).toBe('failed');
  expect(states(p)).toEqual({ ...NONE_REACHED, plan: 'done' });
});

test('a plan that cannot be made fails the run as planFailed, nothing else called', async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t), {
    planRestore: async () => {
      throw ApplicationFailure.nonRetryable('No reset run of target found: nothing to restore', 'NoResetRun');
    },
  });
  const h = await start({ target: t });
  const f = await failure(h);
  expect(f.type).toBe('RestorePlanFailed');
  expect(f.result).toMatchObject({
    outcome: 'failed',
    endReason: 'planFailed',
    message: expect.stringMatching(/No reset run/),
    workers: { status: 'untouched' },
  });
  expect(m.calls).toEqual(['planRestore']);
  expect(m.lockCalls).toEqual([]);
  expect(states(await h.query(progressQuery))).toEqual({ ...NONE_REACHED, plan: 'failed' });
});

test('a confirmation typed in advance that does not match the database is refused before the lock', async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t));
  const h = await start({ target: t, confirmation: 'phonefin_staging' });
  const f = await failure(h);
  expect(f.type).toBe('RestoreRefused');
  expect(f.message).toContain(`confirmation "phonefin_staging" does not match the database name "${DB}"`);
  expect(f.result).toMatchObject({ outcome: 'rejected', endReason: 'refused', workers: { status: 'untouched' } });
  expect(m.calls).toEqual(['planRestore']);
  expect(m.lockCalls).toEqual([]);
  expect(states(await h.query(progressQuery))).toEqual({ ...NONE_REACHED, plan: 'done' });
});

test('a wrong confirmation in the approve signal is recorded and waited past; the right one goes on', async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t));
  const h = await start({ target: t });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: 'wrong_db' });
  const p = await until(h, (x) => Boolean(step(x, 'approval').error));
  expect(step(p, 'approval')).toMatchObject({
    status: 'running',
    error: `rejected approval: confirmation "wrong_db" does not match the database name "${DB}"`,
  });
  expect(p.phase).toBe('awaiting-approval');
  expect(m.calls).toEqual(['planRestore']);
  await h.signal(approveSignal, { confirmation: DB });
  expect((await h.result()).outcome).toBe('completed');
});

test('a database held by another run: refused, naming the holder, nothing touched', async () => {
  const t = target();
  const holder = `database "${DB}" is held by another reset: workflow "reset-other", run r-1`;
  const m = mockActivities(fakeRestorePlan(t), {
    acquireResetLock: async () => Promise.reject(ApplicationFailure.nonRetryable(holder, 'DatabaseLocked')),
  });
  const h = await start({ target: t });
  const f = await failure(h);
  expect(f.type).toBe('RestoreRefused');
  expect(f.message).toContain('workflow "reset-other", run r-1');
  expect(f.result).toMatchObject({ outcome: 'rejected', endReason: 'refused', workers: { status: 'untouched' } });
  expect(m.calls).toEqual(['planRestore']);
  expect(states(await h.query(progressQuery))).toEqual({ ...NONE_REACHED, plan: 'done' });
});

test('the default 24 h approval timeout, in workflow time: still waiting after 23 h, ended with nothing touched after 24 h', async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t, {}, { approvalTimeout: '24h' }));
  const h = await start({ target: t });
  // The deadline is the workflow's own (its timer started before this test reads the clock).
  const { approval } = await until(h, (p) => p.phase === 'awaiting-approval');
  expect(Date.parse(approval!.deadline) - Date.parse(approval!.since)).toBe(24 * 3600_000);
  await env.sleep('23h');
  expect((await h.query(progressQuery)).phase).toBe('awaiting-approval');
  const f = await failure(h);
  expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(Date.parse(approval!.deadline));
  expect(f.type).toBe('ApprovalTimedOut');
  expect(f.result).toMatchObject({
    outcome: 'failed',
    endReason: 'approvalTimedOut',
    workers: { status: 'untouched' },
  });
  expect(m.calls).toEqual(['planRestore']);
  expect(m.lockCalls).toEqual(['acquireResetLock', 'releaseResetLock']);
  const p = await h.query(progressQuery);
  expect(step(p, 'approval')).toMatchObject({ status: 'failed', error: 'no approval before the deadline' });
  expect(states(p)).toMatchObject({
    plan: 'done',
    approval: 'failed',
    stopWorkers: 'skipped',
    restore: 'skipped',
    restoreStorage: 'skipped',
    startWorkers: 'skipped',
    verify: 'skipped',
  });
});

test("the input's approvalTimeout wins over the target's", async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t, {}, { approvalTimeout: '24h' }));
  const h = await start({ target: t, approvalTimeout: '2m' });
  const { approval } = await until(h, (p) => p.phase === 'awaiting-approval');
  expect(Date.parse(approval!.deadline) - Date.parse(approval!.since)).toBe(120_000);
  const f = await failure(h);
  expect(f.type).toBe('ApprovalTimedOut');
  expect(f.message).toMatch(/^No approval within 2 minutes;/);
  expect(m.calls).toEqual(['planRestore']);
});

test('abort while awaiting approval: aborted, nothing touched, the lock given back', async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t));
  const h = await start({ target: t });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(abortSignal, { reason: 'wrong backup', by: 'jest' });
  const f = await failure(h);
  expect(f.type).toBe('RestoreAborted');
  expect(f.result).toMatchObject({ outcome: 'aborted', endReason: 'aborted', workers: { status: 'untouched' } });
  expect(m.calls).toEqual(['planRestore']);
  expect(m.lockCalls).toEqual(['acquireResetLock', 'releaseResetLock']);
  const p = await h.query(progressQuery);
  expect(p.phase).toBe('aborted');
  expect(step(p, 'approval')).toMatchObject({
    status: 'failed',
    error: expect.stringMatching(/Aborted by jest: wrong backup/),
  });
  expect(states(p)).toMatchObject({
    plan: 'done',
    stopWorkers: 'skipped',
    restore: 'skipped',
    restoreStorage: 'skipped',
    startWorkers: 'skipped',
    verify: 'skipped',
  });
});

test('a restore step that fails its attempts: workers back, a pause, and a retry stops them again and finishes', async () => {
  const t = target();
  let restores = 0;
  const m = mockActivities(fakeRestorePlan(t, {}, { maximumAttempts: 2 }), {
    restoreDatabase: async () => {
      if (++restores <= 2) throw new Error('pg_restore: connection to server lost');
      return { tables: 1, rows: 5, mismatches: [], queueDrift: [] };
    },
  });
  const h = await start({ target: t, confirmation: DB });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: DB });
  const paused = await until(h, (p) => p.phase === 'waiting-for-operator');
  expect(paused.waiting).toMatchObject({
    step: 'restore',
    workersRestarted: true,
    error: expect.stringMatching(/connection to server lost/),
  });
  expect(paused.workers.status).toBe('running');
  expect(step(paused, 'restore')).toMatchObject({ status: 'waiting-for-operator', attempts: 2 });
  expect(m.calls).toEqual(['planRestore', 'stopWorkers', 'restoreDatabase', 'restoreDatabase', 'startWorkers']);
  await h.signal(retrySignal);
  const r = await h.result();
  expect(r).toMatchObject({
    outcome: 'completed',
    endReason: 'completed',
    workers: { status: 'running' },
    restored: { rows: 5 },
  });
  expect(m.calls.slice(5)).toEqual([
    'stopWorkers',
    'restoreDatabase',
    'restoreStorage',
    'startWorkers',
    'verifyRestore',
  ]);
  expect(states(await h.query(progressQuery))).toEqual(EVERY_STEP_DONE);
  await recordHistory('restore-failed-then-retried', h);
});

test('counts that differ right after the restore pause the run (not retried by itself); abort ends it with the workers running', async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t, {}, { maximumAttempts: 3 }), {
    restoreDatabase: async () => ({
      tables: 1,
      rows: 4,
      mismatches: ['primary/public.customers: 4, the backup held 5'],
      queueDrift: [],
    }),
  });
  const h = await start({ target: t, confirmation: DB });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: DB });
  const paused = await until(h, (p) => p.phase === 'waiting-for-operator');
  expect(paused.waiting?.error).toMatch(
    /^Right after the restore's COMMIT, counts differ from what its transaction checked in:\nprimary\/public.customers: 4, the backup held 5/,
  );
  expect(m.calls.filter((c) => c === 'restoreDatabase')).toHaveLength(1);
  await h.signal(abortSignal, { reason: 'look into it', by: 'jest' });
  const f = await failure(h);
  expect(f.result).toMatchObject({ outcome: 'aborted', endReason: 'aborted', workers: { status: 'running' } });
  expect(m.calls).toEqual(['planRestore', 'stopWorkers', 'restoreDatabase', 'startWorkers']);
  expect(states(await h.query(progressQuery))).toEqual({
    ...EVERY_STEP_DONE,
    restore: 'failed',
    restoreStorage: 'skipped',
    startWorkers: 'skipped',
    verify: 'skipped',
  });
});

test('abort while waiting: the workers restarted by the pause stay running, the run ends aborted', async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t), {
    restoreStorage: async () => {
      throw ApplicationFailure.nonRetryable('CopyObject q/quarantine/a.png: AccessDenied');
    },
  });
  const h = await start({ target: t });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: DB });
  const paused = await until(h, (p) => p.phase === 'waiting-for-operator');
  expect(paused.waiting).toMatchObject({ step: 'restoreStorage', workersRestarted: true });
  await h.signal(abortSignal, { reason: 'objects later', by: 'jest' });
  const f = await failure(h);
  expect(f.type).toBe('RestoreAborted');
  expect(f.message).toBe(`Restore of "${t}" Aborted by jest: objects later`);
  expect(f.result).toMatchObject({
    outcome: 'aborted',
    endReason: 'aborted',
    workers: { status: 'running' },
    restored: { rows: 5 },
  });
  // The pause started the workers; the abort did not start them a second time.
  expect(m.calls).toEqual(['planRestore', 'stopWorkers', 'restoreDatabase', 'restoreStorage', 'startWorkers']);
  expect(m.lockCalls).toEqual(['acquireResetLock', 'releaseResetLock']);
  const p = await h.query(progressQuery);
  expect(p.phase).toBe('aborted');
  expect(p.workers.status).toBe('running');
  expect(states(p)).toEqual({
    plan: 'done',
    approval: 'done',
    stopWorkers: 'done',
    restore: 'done',
    restoreStorage: 'failed',
    startWorkers: 'skipped',
    verify: 'skipped',
  });
  expect(step(p, 'restoreStorage').error).toMatch(/^CopyObject q\/quarantine\/a.png: AccessDenied.*Aborted by jest/);
  expect(step(p, 'startWorkers').detail).toMatch(
    /^not run as a step: the run had started the workers again \(compensation\)/,
  );
  await recordHistory('restore-storage-failed-then-aborted', h);
});

test('compensation that never brings the workers back ends the run failed, workersStillStopped, every step final', async () => {
  const t = target();
  const m = mockActivities(
    fakeRestorePlan(
      t,
      {},
      { startTimeoutSeconds: 1, restartBudgetSeconds: 12, startCommand: 'sudo systemctl start solid_queue' },
    ),
    {
      restoreDatabase: async () => {
        throw ApplicationFailure.nonRetryable('pg_restore: error: could not read input file');
      },
      startWorkers: async () => {
        throw new Error('No Solid Queue heartbeat within 1s');
      },
    },
  );
  const h = await start({ target: t, confirmation: DB });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: DB });
  const f = await failure(h);
  expect(f.type).toBe('CompensationFailed');
  expect(f.result).toMatchObject({
    outcome: 'failed',
    endReason: 'workersStillStopped',
    workers: {
      status: 'still-stopped',
      startCommand: 'sudo systemctl start solid_queue',
      restart: { attempt: 2, maxAttempts: 2 },
    },
  });
  expect(f.message).toBe(
    `WORKERS ARE STILL STOPPED since ${f.result.workers!.stoppedSince} — start them by hand: sudo systemctl start solid_queue`,
  );
  expect(m.calls).toEqual(['planRestore', 'stopWorkers', 'restoreDatabase', 'startWorkers', 'startWorkers']);
  const p = await h.query(progressQuery);
  expect(p.phase).toBe('failed');
  expect(states(p)).toEqual({
    plan: 'done',
    approval: 'done',
    stopWorkers: 'done',
    restore: 'failed',
    restoreStorage: 'skipped',
    startWorkers: 'skipped',
    verify: 'skipped',
  });
  expect(step(p, 'restoreStorage').detail).toBe(
    'not reached: the run ended after "3 Restore the database from the backup" failed',
  );
  expect(step(p, 'startWorkers').detail).toMatch(/WORKERS ARE STILL STOPPED/);
});

test('cancelling the run mid-restore waits for the step, starts the workers again, and ends cancelled', async () => {
  const t = target();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const m = mockActivities(fakeRestorePlan(t), {
    restoreDatabase: async (c) => {
      await gate; // the cancellation lands while the workers are stopped and the load runs
      c.push('restoreDatabase:finished');
      throw ApplicationFailure.nonRetryable('interrupted');
    },
  });
  const h = await start({ target: t, confirmation: DB });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: DB });
  await until(h, (p) => p.currentStep === 'restore');
  await h.cancel();
  try {
    // No worker is started under a running load.
    await new Promise((r) => setTimeout(r, 1500));
    expect(m.calls).not.toContain('startWorkers');
  } finally {
    release();
  }
  await expect(h.result()).rejects.toThrow(WorkflowFailedError);
  expect(m.calls).toEqual([
    'planRestore',
    'stopWorkers',
    'restoreDatabase',
    'restoreDatabase:finished',
    'startWorkers',
  ]);
  expect(m.lockCalls).toEqual(['acquireResetLock', 'releaseResetLock']);
  const p = await h.query(progressQuery);
  expect(p.phase).toBe('cancelled');
  expect(p.workers.status).toBe('running');
  expect(states(p)).toEqual({
    plan: 'done',
    approval: 'done',
    stopWorkers: 'done',
    restore: 'failed',
    restoreStorage: 'skipped',
    startWorkers: 'skipped',
    verify: 'skipped',
  });
});

test('no quarantine and no workers: the storage and worker steps are skipped, saying why', async () => {
  const t = target();
  const m = mockActivities(fakeRestorePlan(t, { quarantine: undefined }, { workersConfigured: false }));
  const h = await start({ target: t });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: DB });
  const r = await h.result();
  expect(r).toMatchObject({ outcome: 'completed', workers: { status: 'untouched' } });
  expect(r.objectsRestored).toBeUndefined();
  expect(m.calls).toEqual(['planRestore', 'restoreDatabase', 'verifyRestore']);
  const p = await h.query(progressQuery);
  expect(states(p)).toEqual({
    ...EVERY_STEP_DONE,
    stopWorkers: 'skipped',
    restoreStorage: 'skipped',
    startWorkers: 'skipped',
  });
  expect(step(p, 'restoreStorage').detail).toContain('is gone for good and cannot come back');
  expect(step(p, 'stopWorkers').detail).toBe('no workers configured');
});
