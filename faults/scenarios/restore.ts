/**
 * The restore (restoreFromBackup) under faults. Each scenario resets the suite's restore target (its
 * own target on the same database, with storage.quarantine), then restores that reset's backup while a
 * fault strikes: the worker SIGKILLed at each of the restore's crash points, the restore's PostgreSQL
 * session terminated mid-load, S3 errors while the quarantined objects are copied back. Each must end
 * with every table's count and every object as they were before the reset, the workers running — or
 * pause truthfully (the step named, the workers back) and get there on "retry".
 */
import * as fs from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { RESTORE_CRASH_POINTS, type CrashPoint } from '../../src/activities/lib/faults';
import type { restoreFromBackup } from '../../src/workflows';
import {
  resetWorkflowId,
  restoreWorkflowId,
  retrySignal,
  WORKFLOW_TASK_TIMEOUT,
  type RestoreResult,
} from '../../src/contract';
import { approveAndFinish } from '../../test/support/drive';
import type { ChaosRule } from '../lib/chaos-proxy';
import { SEEDED, scenario, waitFor, type Handle, type Job, type Outcome, type Stage, type Suite } from '../lib/harness';
import { RECOVERY_LIMIT_MS } from './crashes';
import { terminateWhen } from './postgres';

type RestoreHandle = WorkflowHandle<typeof restoreFromBackup>;
type Body = (s: Stage, h: RestoreHandle) => Promise<RestoreResult>;

const CRASH_KIND = 'restore: worker SIGKILL at a crash point';
const PG_KIND = 'restore: PostgreSQL';
const S3_KIND = 'restore: S3 (fault proxy)';

/** The drive helpers and the harness' checks are typed for the reset; they only query and read the history. */
const asReset = (h: RestoreHandle) => h as unknown as Handle;

function restoreScenario(suite: Suite, kind: string, name: string, expected: string, body: Body): Promise<Outcome> {
  return scenario(suite, kind, name, expected, async (s) => {
    const target = suite.restoreTarget;
    try {
      const reset = await s.start({ mode: 'execute' }, target);
      const rr = await approveAndFinish(reset, s.f.dbName);
      if (rr.outcome !== 'completed')
        throw new Error(`the reset before the restore ended ${rr.outcome}: ${rr.message}`);
      const h = await s.f.client.workflow.start<typeof restoreFromBackup>('restoreFromBackup', {
        taskQueue: s.f.taskQueue,
        workflowId: restoreWorkflowId(target),
        args: [{ target, resetRunId: (await reset.describe()).runId }],
        workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
      });
      const r = await body(s, h);
      await expectRestored(s, r, rr.objectsDeleted?.count ?? 0);
    } finally {
      // A scenario that failed midway leaves its runs open: end them so the next one can start.
      for (const id of [restoreWorkflowId(target), resetWorkflowId(target)])
        await s.f.client.workflow
          .getHandle(id)
          .terminate('fault suite: scenario over')
          .catch(() => undefined);
    }
  });
}

/**
 * Every table as before the reset (but Solid Queue's own, which the running workers change), every
 * object back, the workers running. Rows missing count as lost, extra seed rows as duplicates.
 */
async function expectRestored(s: Stage, r: RestoreResult, quarantined: number): Promise<void> {
  if (s.out.got === '?') s.out.got = r.outcome;
  s.check(r.outcome === 'completed', `the restore ended ${r.outcome}${r.message ? `: ${r.message}` : ''}`);
  s.check(r.verify?.ok === true, `the restore's verify: ${JSON.stringify(r.verify?.mismatches)}`);
  s.check(
    r.objectsRestored?.count === quarantined && quarantined > 0,
    `${r.objectsRestored?.count} objects copied back, ${quarantined} quarantined by the reset`,
  );
  s.check(r.workers?.status === 'running', `workers ${r.workers?.status} at the end`);
  const after = await s.snapshot();
  let lost = 0;
  let dup = 0;
  for (const [t, n] of s.before.counts) {
    if (t.startsWith('solid_queue_')) continue;
    const now = after.counts.get(t) ?? 0;
    if (now < n) lost += n - now;
    else if (now > n && t in SEEDED) dup += now - n;
    if (now !== n) s.problem(`${t}: ${n} rows before the reset, ${now} after the restore`);
  }
  const missing = [...s.before.objects].filter(([k, size]) => after.objects.get(k) !== size).length;
  if (missing) s.problem(`${missing} object(s) not back as they were`);
  s.out.keptRowsLost = lost;
  s.out.duplicateSeedRows = dup;
  s.out.keptObjectsLost = missing;
  s.check(s.f.service('status') === 0, 'the Solid Queue service is not running at the end');
}

function crashAt(point: CrashPoint) {
  return (suite: Suite) =>
    restoreScenario(suite, CRASH_KIND, `restore: crash at ${point}`, 'completed', async (s, h) => {
      const deathsBefore = suite.deaths.length;
      fs.writeFileSync(suite.crashFile, point);
      const r = (await approveAndFinish(asReset(h), s.f.dbName)) as unknown as RestoreResult;
      s.out.faults = suite.deaths.length - deathsBefore;
      s.check(
        s.out.faults === 1 && !fs.existsSync(suite.crashFile),
        `the crash point ${point} was not reached (${s.out.faults} deaths)`,
      );
      await s.measureRecovery(asReset(h));
      s.check(s.out.recoveryMs.length === 1, 'no activity started on another worker after the death');
      for (const ms of s.out.recoveryMs)
        s.check(
          ms <= RECOVERY_LIMIT_MS,
          `the run moved again ${(ms / 1000).toFixed(1)} s after the death (limit ${RECOVERY_LIMIT_MS / 1000} s)`,
        );
      return r;
    });
}

/** The restore's psql session, caught in a COPY while its data stream stalls (pg_restore wrapper, once). */
function terminatedMidLoad(suite: Suite): Promise<Outcome> {
  return restoreScenario(
    suite,
    PG_KIND,
    "restore: pg_terminate_backend of the restore's session mid-load",
    'completed',
    async (s, h) => {
      suite.setModes({ pgRestore: 'slow-once' });
      const finished = approveAndFinish(asReset(h), s.f.dbName) as unknown as Promise<RestoreResult>;
      s.out.faults = await terminateWhen(s, `application_name = 'psql' AND query ILIKE 'COPY %'`);
      s.check(s.out.faults === 1, "the restore's session was never caught mid-load");
      return finished;
    },
  );
}

/** A share of the CopyObject calls that bring the objects back fail; the SDK's and the step's retries absorb them. */
function s3WhileCopying(name: string, rule: ChaosRule) {
  return (suite: Suite) =>
    restoreScenario(suite, S3_KIND, name, 'completed', async (s, h) => {
      suite.proxy.rule = rule; // after the reset (its quarantine copies too), before the restore copies
      const r = (await approveAndFinish(asReset(h), s.f.dbName)) as unknown as RestoreResult;
      s.out.faults = suite.proxy.injected;
      s.check(s.out.faults > 0, 'no CopyObject was faulted');
      return r;
    });
}

/**
 * S3 refuses every copy: the step pauses (the database restored, the workers back), and "retry" once S3 is back
 * finishes it.
 */
function s3DownWhileCopying(suite: Suite): Promise<Outcome> {
  return restoreScenario(
    suite,
    S3_KIND,
    'restore: every CopyObject 500 until an operator retries',
    'paused at restoreStorage, retried: completed',
    async (s, h) => {
      suite.proxy.rule = { match: 'copy', action: 'error500', every: 1, times: Infinity };
      void approveAndFinish(asReset(h), s.f.dbName).catch(() => undefined);
      const p = await waitFor(
        asReset(h),
        (x) => ['waiting-for-operator', 'completed', 'failed', 'aborted'].includes(x.phase),
        180_000,
      );
      const pausedAt = p.phase === 'waiting-for-operator' ? `paused at ${p.waiting?.step}` : p.phase;
      s.check(p.waiting?.step === 'restoreStorage', `expected a pause at restoreStorage, got ${pausedAt}`);
      s.check(
        p.waiting?.workersRestarted === true && p.workers.status === 'running',
        `workers ${p.workers.status} while paused`,
      );
      s.check(s.f.service('status') === 0, 'the Solid Queue service is not running while the restore waits');
      s.check(
        p.steps.find((x) => x.name === 'restore')?.status === 'done',
        'the database step is not done at the pause',
      );
      s.out.faults = suite.proxy.injected;
      suite.proxy.rule = undefined;
      await h.signal(retrySignal);
      const r = await h.result();
      s.out.got = `${pausedAt}, retried: ${r.outcome}`;
      return r;
    },
  );
}

/**
 * Quick mode (CI) takes the crash mid-transaction: the one point where a half-loaded database could be left (~22 s).
 */
export function restoreJobs(full: boolean): Job[] {
  const jobs: (Job & { quick?: boolean })[] = [
    ...RESTORE_CRASH_POINTS.map((p) => ({
      name: `restore: crash at ${p}`,
      quick: p === 'restore.loading',
      run: crashAt(p),
    })),
    { name: "restore: pg_terminate_backend of the restore's session mid-load", run: terminatedMidLoad },
    {
      name: 'restore: 503 SlowDown on every 2nd CopyObject',
      run: s3WhileCopying('restore: 503 SlowDown on every 2nd CopyObject', {
        match: 'copy',
        action: 'slowdown',
        every: 2,
        times: Infinity,
      }),
    },
    {
      name: 'restore: connection reset on every 3rd CopyObject',
      run: s3WhileCopying('restore: connection reset on every 3rd CopyObject', {
        match: 'copy',
        action: 'reset',
        every: 3,
        times: Infinity,
      }),
    },
    { name: 'restore: every CopyObject 500 until an operator retries', run: s3DownWhileCopying },
  ];
  return jobs.filter((j) => full || j.quick);
}
