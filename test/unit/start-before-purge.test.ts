/**
 * workers.startBeforePurge: step 5 runs right after the seeds, before the purge, so the workers are
 * stopped only for the TRUNCATE and the seeds. Mocked activities on the time-skipping test server; each
 * test checks the order of the calls (the safety property) and that every view — progress, the pause,
 * the ending, the result — says the workers are running from step 5 on, and nothing starts them twice.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import {
  abortSignal,
  progressQuery,
  resetWorkflowId,
  retrySignal,
  type Plan,
  type Progress,
  type ResetResult,
} from '../../src/contract';
import { pauseWorkersLine } from '../../src/cli/render-view';
import { fakePlan } from '../support/fake-plan';
import { recordHistory } from '../support/histories';
import { dispatchByTarget, withTimeSkippingWorker } from '../support/time-skipping';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let env: TestWorkflowEnvironment;
const TASK_QUEUE = `unit-sbp-${randomUUID()}`;
/** Each test's activities, by the target its calls name (one worker serves the file). */
const mocks = new Map<string, Partial<Activities>>();
const NAMES: (keyof Activities)[] = [
  'planReset',
  'backupDatabase',
  'recordBlobKeys',
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
  activities: () => dispatchByTarget(NAMES, (t) => mocks.get(t)),
  ready: (e) => (env = e),
});

/** The plan of a target with workers.startBeforePurge on. */
const planOf = (t: string): Plan => {
  const p = fakePlan(t, { environment: 'development' });
  return { ...p, settings: { ...p.settings, startWorkersBeforePurge: true } };
};

/**
 * Mocks that record their calls in order; `purge` replaces the purge (a gate, a failure), `keys` the
 * recording of the blob keys before the stop. Every reset's arguments land in `resets`.
 */
function register(
  t: string,
  calls: string[],
  purge?: () => Promise<unknown>,
  keys?: () => Promise<unknown>,
  resets: unknown[] = [],
): void {
  const rec = (name: string, value: unknown) => async () => {
    calls.push(name);
    return value;
  };
  mocks.set(t, {
    planReset: rec('planReset', planOf(t)),
    backupDatabase: async () => {
      calls.push('backupDatabase');
      const createdAt = new Date(await env.currentTimeMs()).toISOString();
      const file = { database: 'primary', path: '/b/x.dump', bytes: 1, sha256: 'ab', tocEntries: 3 };
      return { files: [file], serverVersion: '15', pgDumpVersion: '15', createdAt };
    },
    recordBlobKeys: async () => {
      calls.push('recordBlobKeys');
      return keys ? keys() : { path: '/b/m.json', blobs: 5, bytes: 50 };
    },
    stopWorkers: rec('stopWorkers', { staleProcessRows: 0, claimedByDeadProcesses: 0 }),
    resetDatabase: async (args: unknown) => {
      calls.push('resetDatabase');
      resets.push(args);
      return {
        manifest: { path: '/b/m.json', blobs: 6, bytes: 60 },
        countsBefore: { a: 1 },
        countsAfter: { a: 0 },
        truncated: { tables: 1, rows: 1 },
        kept: { tables: 0, rows: 0 },
      };
    },
    resetState: rec('resetState', { databaseChanged: true }),
    purgeStorage: async () => {
      calls.push('purgeStorage');
      return purge ? purge() : { deleted: 2, bytes: 20, keptReferenced: 0 };
    },
    startWorkers: rec('startWorkers', { alive: 3 }),
    sendNotification: rec('sendNotification', undefined),
    verifyCounts: rec('verifyCounts', { ok: true, lines: [], report: 'Users: 6', hints: [] }),
    acquireResetLock: async () => [],
    releaseResetLock: async () => ({ released: 1 }),
  } as unknown as Partial<Activities>);
}

function start(t: string) {
  return env.client.workflow.start('productionDataReset', {
    taskQueue: TASK_QUEUE,
    workflowId: resetWorkflowId(t),
    args: [{ target: t, mode: 'execute', confirmation: 'phonefin_production' }],
  });
}

async function until(h: Awaited<ReturnType<typeof start>>, pred: (p: Progress) => boolean): Promise<Progress> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const p = await h.query(progressQuery).catch(() => undefined);
    if (p && pred(p)) return p;
    if (Date.now() > deadline) throw new Error(`timed out; last progress: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A gate the purge mock waits on, so a test can look at the run while the purge is in flight. */
function gate() {
  let open: (v?: unknown) => void = () => undefined;
  const closed = new Promise((r) => (open = r));
  return { closed, open };
}

const UP_TO_RESET = ['planReset', 'backupDatabase', 'recordBlobKeys', 'stopWorkers', 'resetDatabase'];
const target = () => `sbp-${randomUUID().slice(0, 8)}`;

test('the workers start right after the seeds and run while the purge runs; every view lists step 5 before step 4', async () => {
  const t = target();
  const calls: string[] = [];
  const resets: unknown[] = [];
  const g = gate();
  register(
    t,
    calls,
    async () => {
      await g.closed;
      return { deleted: 2, bytes: 20, keptReferenced: 0 };
    },
    undefined,
    resets,
  );
  const h = await start(t);
  let during: Progress;
  try {
    // The step shows as current once it is scheduled; the mock is called when a worker picks it up.
    during = await until(h, (p) => p.currentStep === 'purgeStorage' && calls.includes('purgeStorage'));
  } finally {
    g.open();
  }
  expect(during.workers.status).toBe('running');
  expect(calls).toEqual([...UP_TO_RESET, 'startWorkers', 'purgeStorage']);
  expect(during.steps.map((s) => s.name)).toEqual([
    'plan',
    'backup',
    'approval',
    'stopWorkers',
    'reset',
    'startWorkers',
    'purgeStorage',
    'verify',
  ]);
  expect(during.steps.find((s) => s.name === 'startWorkers')?.detail).toBe(
    '3 process(es) alive, before the purge (workers.startBeforePurge)',
  );
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  expect(calls).toEqual([...UP_TO_RESET, 'startWorkers', 'purgeStorage', 'verifyCounts']);
  // The keys were recorded before the stop, and the reset was told so (it records only the rows since).
  expect(resets).toEqual([expect.objectContaining({ keysBefore: { rows: 5, bytes: 50 } })]);
  // The result's window ends when step 5 ended, before the purge began.
  const w = r.workers!;
  expect(w.status).toBe('running');
  const purge = during.steps.find((s) => s.name === 'purgeStorage')!;
  expect(Date.parse(w.startedAgainAt!)).toBeGreaterThanOrEqual(Date.parse(w.stoppedSince!));
  expect(Date.parse(w.startedAgainAt!)).toBeLessThanOrEqual(Date.parse(purge.startedAt!));
  await recordHistory('start-before-purge-completed', h);
});

test('the purge fails after the workers started: the pause says they run, nothing starts or stops them again; a retry finishes', async () => {
  const t = target();
  const calls: string[] = [];
  let purges = 0;
  register(t, calls, async () => {
    if (++purges === 1) throw ApplicationFailure.nonRetryable('S3 refused to delete 3 object(s)');
    return { deleted: 2, bytes: 20, keptReferenced: 0 };
  });
  const h = await start(t);
  const p = await until(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('purgeStorage');
  expect(p.waiting?.workersRestarted).toBe(false);
  expect(p.workers.status).toBe('running');
  expect(pauseWorkersLine(false, p.workers)).toBe(
    'Solid Queue workers: running: this run started them again before this step (resume does not stop them)',
  );
  expect(calls).toEqual([...UP_TO_RESET, 'startWorkers', 'purgeStorage']);
  await h.signal(retrySignal);
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  expect(calls).toEqual([...UP_TO_RESET, 'startWorkers', 'purgeStorage', 'purgeStorage', 'verifyCounts']);
});

test('an abort while the purge runs ends the run aborted, the workers running, and starts nothing twice', async () => {
  const t = target();
  const calls: string[] = [];
  const g = gate();
  register(t, calls, async () => {
    await g.closed;
    // The step in flight ends as a cancelled purge would: the abort decides what follows.
    throw ApplicationFailure.nonRetryable('cancelled');
  });
  const h = await start(t);
  // While the purge runs: called, not only scheduled.
  await until(h, (p) => p.currentStep === 'purgeStorage' && calls.includes('purgeStorage'));
  await h.signal(abortSignal, { reason: 'postponed', by: 'jest' });
  await until(h, (p) => p.abortRequested !== undefined);
  g.open();
  const err = await h.result().catch((e) => e);
  expect(err.cause?.type).toBe('ResetAborted');
  const r = err.cause.details[0] as ResetResult;
  expect(r.outcome).toBe('aborted');
  expect(r.workers?.status).toBe('running');
  expect(r.restoreCommand).toMatch(/^reset-runbook restore /);
  // No compensation: one stop, one start, nothing after the purge (the reset step is done: no journal question).
  expect(calls).toEqual([...UP_TO_RESET, 'startWorkers', 'purgeStorage']);
  const p = await h.query(progressQuery);
  expect(p.phase).toBe('aborted');
  expect(p.steps.find((s) => s.name === 'startWorkers')?.status).toBe('done');
  expect(p.steps.find((s) => s.name === 'purgeStorage')?.status).toBe('failed');
  expect(p.steps.find((s) => s.name === 'verify')?.detail).toMatch(/^not reached: Aborted by jest/);
});

test('recording the keys before the stop fails: the run goes on, and the reset records them all itself', async () => {
  const t = target();
  const calls: string[] = [];
  const resets: unknown[] = [];
  register(
    t,
    calls,
    undefined,
    async () => {
      throw ApplicationFailure.nonRetryable('backup store not writable');
    },
    resets,
  );
  const r = await (await start(t)).result();
  expect(r.outcome).toBe('completed');
  expect(calls).toEqual([...UP_TO_RESET, 'startWorkers', 'purgeStorage', 'verifyCounts']);
  expect(resets).toHaveLength(1);
  expect(resets[0]).not.toHaveProperty('keysBefore');
});
