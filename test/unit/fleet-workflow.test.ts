/**
 * The fleet's logic (resetFleet), with mocked activities and a FAKE reset child (test/unit/fleet/
 * workflows.ts: its target's name says how it ends) on Temporal's time-skipping test server: no stack,
 * and a child's minutes of work or a 24 h approval timeout elapse in a moment. Every test checks which
 * children started (the children record it themselves), how each target ended, and the fleet's ending.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { FleetTargets, FleetTargetsRequest } from '../../src/activities/fleet';
import {
  abortSignal,
  approveSignal,
  resetWorkflowId,
  retrySignal,
  type Plan,
  fleetAbortSignal,
  fleetApproveSignal,
  fleetProgressQuery,
  fleetWorkflowId,
  type FleetInput,
  type FleetProgress,
  type FleetResult,
  type FleetTarget,
} from '../../src/contract';
import { recordHistory } from '../support/histories';
import { withTimeSkippingWorker } from '../support/time-skipping';
import type { ChildEvent } from './fleet/workflows';

// The time-skipping test server has been seen, on a machine whose two cores were saturated by other
// test processes, to time out a workflow task of a fleet that was simply waiting (its clock jumps while
// the worker is starved). A real defect in the fleet's logic fails every attempt; a starved server does not.
jest.retryTimes(2, { logErrorsBeforeRetry: true });

Runtime.install({ logger: new DefaultLogger('ERROR') });

let env: TestWorkflowEnvironment;
const TASK_QUEUE = `unit-fleet-${randomUUID()}`;

/** What the children recorded (start, end, their input), and the notifications the fleet sent. */
const events: ChildEvent[] = [];
const notifications: { target: string; text: string }[] = [];
/** Groups of the "targets file", by name. */
const groups = new Map<string, FleetTargets>();
/** Plans that wait (targets named slow-*) until the test lets them go. */
const planGates = new Map<string, () => void>();
const planStarted = new Set<string>();

withTimeSkippingWorker({
  taskQueue: TASK_QUEUE,
  workflowsPath: path.join(__dirname, 'fleet', 'workflows.ts'),
  activities: () => ({
    fleetTargets: async (req: FleetTargetsRequest): Promise<FleetTargets> => {
      if (req.group !== undefined) {
        const g = groups.get(req.group);
        if (!g) throw ApplicationFailure.nonRetryable(`Unknown group "${req.group}".`, 'UnknownGroup');
        return g;
      }
      return { targets: req.targets ?? [] };
    },
    planReset: async ({ target }: { target: string }): Promise<Plan> => {
      planStarted.add(target);
      if (target.startsWith('slow')) {
        const ctx = Context.current();
        const released = new Promise<void>((r) => planGates.set(target, r));
        const beat = setInterval(() => ctx.heartbeat(), 200);
        try {
          await Promise.race([released, ctx.cancelled]);
        } finally {
          clearInterval(beat);
        }
      }
      return fakePlan(target);
    },
    sendNotification: async (m: { target: string; text: string }) => {
      notifications.push({ target: m.target, text: m.text });
    },
    childEvent: async (e: ChildEvent) => {
      events.push(e);
    },
  }),
  ready: (e) => (env = e),
  beforeShutdown: () => {
    for (const release of planGates.values()) release();
  },
});

/**
 * A plan as planReset returns it, shaped by the target's name: prod-* is production (its own run asks
 * a person), bad-* has an error, *-2db-* has two databases; the rest are staging with one database.
 */
function fakePlan(target: string): Plan {
  const prod = target.startsWith('prod');
  return {
    target,
    databaseName: dbOf(target),
    environment: prod ? 'production' : 'staging',
    strategy: 'replant',
    highRisk: false,
    tables: [
      { database: 'primary', schema: 'public', table: 'customers', rows: 5, action: 'truncate' },
      ...(target.includes('-2db-')
        ? [{ database: 'queue', schema: 'public', table: 'solid_queue_jobs', rows: 3, action: 'truncate' as const }]
        : []),
    ],
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
    errors: target.startsWith('bad') ? ['kept table accounts references truncated table customers'] : [],
    settings: {
      heartbeatTimeoutSeconds: 5,
      maximumAttempts: 1,
      approvalRequired: false,
      approvalTimeout: '1h',
      workersConfigured: true,
      storageConfigured: true,
      stopTimeoutSeconds: 5,
      startTimeoutSeconds: 5,
      notifications: prod,
    },
    digest: 'd1',
    createdAt: new Date().toISOString(),
  };
}
const dbOf = (target: string) => `db_${target.replace(/-/g, '_')}`;

/** Target names unique to the test (children are `reset-<target>`, on one server for the whole file). */
function targets(...kinds: string[]): string[] {
  const id = randomUUID().slice(0, 6);
  return kinds.map((k, i) => `${k}-${String.fromCharCode(97 + i)}${id}`);
}
const fleetName = () => `f-${randomUUID().slice(0, 8)}`;

/** The fleets a test started: a failed test leaves none running (with its children) to disturb the next. */
const fleets: WorkflowHandle[] = [];
afterEach(async () => {
  const open = [
    ...fleets.splice(0),
    ...new Set(
      events.filter((e) => e.event === 'start').map((e) => env.client.workflow.getHandle(resetWorkflowId(e.target))),
    ),
  ];
  for (const h of open) {
    const running = await h
      .describe()
      .then((d) => d.status.name === 'RUNNING')
      .catch(() => false);
    if (running) await h.terminate('the test is over').catch(() => undefined);
  }
});

async function startFleet(input: FleetInput, workflowId = fleetWorkflowId(input.name)): Promise<WorkflowHandle> {
  const h = await env.client.workflow.start('resetFleet', { taskQueue: TASK_QUEUE, workflowId, args: [input] });
  fleets.push(h);
  return h;
}

/** Polls the fleet's progress (time does not skip meanwhile: children stay where they are). */
async function until(
  h: WorkflowHandle,
  pred: (p: FleetProgress) => boolean,
  what = 'the condition',
  ms = 20000,
): Promise<FleetProgress> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await h.query(fleetProgressQuery).catch((e) => {
      if (Date.now() > deadline) throw e;
      return undefined;
    });
    if (p && pred(p)) return p;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last progress: ${JSON.stringify(p, null, 1)}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** The fleet's ending: its result, or the failure it threw (type and the result in its details). */
async function ending(
  h: WorkflowHandle,
  ms = 20000,
): Promise<{ type?: string; message?: string; result: FleetResult }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      const hist = await h
        .fetchHistory()
        .then((x) =>
          x.events?.map(
            (e) =>
              `${e.eventType}${e.workflowTaskFailedEventAttributes ? ` ${JSON.stringify(e.workflowTaskFailedEventAttributes.failure?.message)}` : ''}${e.activityTaskTimedOutEventAttributes ? ` ${JSON.stringify(e.activityTaskTimedOutEventAttributes.failure?.message)}` : ''}`,
          ),
        )
        .catch((e) => String(e));
      const d = await h
        .describe()
        .then((x) => x.raw)
        .catch((e) => String(e));
      const kids = await Promise.all(
        events
          .filter((e) => e.parent === h.workflowId && e.event === 'start')
          .map((e) =>
            env.client.workflow
              .getHandle(resetWorkflowId(e.target))
              .describe()
              .then((x) => ({
                id: x.workflowId,
                status: x.status.name,
                pa: x.raw.pendingActivities,
                hist: x.historyLength,
              }))
              .catch((er) => String(er)),
          ),
      );
      reject(
        new Error(
          `the fleet did not end within ${ms} ms; its history: ${JSON.stringify(hist)} ${JSON.stringify(d)} ${JSON.stringify(kids)} ${await env.currentTimeMs()}`,
        ),
      );
    }, ms);
  });
  try {
    return { result: (await Promise.race([h.result(), late])) as FleetResult };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError) || !(err.cause instanceof ApplicationFailure)) throw err;
    expect(err.cause.nonRetryable).toBe(true);
    return {
      type: err.cause.type ?? undefined,
      message: err.cause.message,
      result: err.cause.details?.[0] as FleetResult,
    };
  } finally {
    clearTimeout(timer);
  }
}

const byTarget = (r: { targets: FleetTarget[] }) => Object.fromEntries(r.targets.map((t) => [t.target, t]));
const statuses = (r: { targets: FleetTarget[] }) => Object.fromEntries(r.targets.map((t) => [t.target, t.status]));
/** The children that started, sorted (those started together record their start in any order). */
const started = (names: string[]) =>
  events
    .filter((e) => e.event === 'start' && names.includes(e.target))
    .map((e) => e.target)
    .sort();
const startOf = (t: string) => events.find((e) => e.event === 'start' && e.target === t);
const endOf = (t: string) => events.find((e) => e.event === 'end' && e.target === t);

/** The most children running at once, from their own start and end records (an end before a start at the same time). */
function mostAtOnce(names: string[]): number {
  const marks = events
    .filter((e) => names.includes(e.target))
    .map((e) => ({ at: e.at, d: e.event === 'start' ? 1 : -1 }));
  marks.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const m of marks) most = Math.max(most, (now += m.d));
  return most;
}

describe('a fleet that completes', () => {
  test('waits for its approval (a wrong name or count is rejected and shown), then resets every target, each child told its database', async () => {
    const name = fleetName();
    const ts = targets('ok', 'ok-2db', 'ok');
    const h = await startFleet({ name, targets: ts, mode: 'execute', maxConcurrent: 2 });
    let p = await until(h, (x) => x.phase === 'awaiting-approval', 'the approval');
    expect(p.approval).toMatchObject({ fleet: name, databases: 4 });
    expect(p.limits).toMatchObject({ targets: 3, databases: 4, maxConcurrent: 2, maxFailures: 0, batches: [3] });
    expect(p.targets.map((t) => [t.target, t.status, t.plan?.databases, t.plan?.environment])).toEqual([
      [ts[0], 'planned', 1, 'staging'],
      [ts[1], 'planned', 2, 'staging'],
      [ts[2], 'planned', 1, 'staging'],
    ]);

    await h.signal(fleetApproveSignal, { confirmation: 'staging', databases: 4 });
    p = await until(h, (x) => Boolean(x.approval?.rejected), 'the rejection');
    expect(p.approval?.rejected).toBe(`confirmation "staging" does not match the fleet's name "${name}"`);
    await h.signal(fleetApproveSignal, { confirmation: name, databases: 3 });
    p = await until(h, (x) => Boolean(x.approval?.rejected?.startsWith('databases')), 'the second rejection');
    expect(p.approval?.rejected).toBe('databases 3 does not match the plan: 4 databases on 3 targets');
    expect(p.phase).toBe('awaiting-approval');
    expect(started(ts)).toEqual([]);

    await h.signal(fleetApproveSignal, { confirmation: name, databases: 4, by: 'ana' });
    const { result } = await ending(h);
    expect(result).toMatchObject({ name, mode: 'execute', outcome: 'completed', endReason: 'completed' });
    expect(result.totals).toEqual({
      targets: 3,
      completed: 3,
      failed: 0,
      aborted: 0,
      notStarted: 0,
      running: 0,
      waiting: 0,
      workersStillStopped: 0,
    });
    expect(result.targets.map((t) => t.detail)).toEqual([
      'Users: 6, Accounts: 1',
      'Users: 6, Accounts: 1',
      'Users: 6, Accounts: 1',
    ]);
    expect(started(ts)).toEqual([...ts].sort());
    expect(mostAtOnce(ts)).toBe(2);
    for (const t of ts) {
      expect(startOf(t)?.parent).toBe(fleetWorkflowId(name));
      expect(startOf(t)?.input).toEqual({ target: t, mode: 'execute', reason: `fleet ${name}`, confirmation: dbOf(t) });
    }
    const final = await h.query(fleetProgressQuery);
    expect(final.phase).toBe('completed');
    expect(final.approvedBy).toBe('ana');
    expect(final.approval).toBeUndefined();
    await recordHistory('fleet-completed-with-approval', h);
  });

  test("the input's confirmation and database count stand in for the approval; a wrong one refuses the fleet", async () => {
    const ts = targets('ok', 'ok');
    const wrong = fleetName();
    const refused = await ending(
      await startFleet({ name: wrong, targets: ts, mode: 'execute', confirmation: wrong, databases: 3 }),
    );
    expect(refused.type).toBe('FleetRefused');
    expect(refused.result).toMatchObject({ outcome: 'rejected', endReason: 'refused' });
    expect(refused.result.message).toBe(
      `refused; nothing was touched: the input's confirmation ("${wrong}", 3 databases) does not match the fleet "${wrong}" with 2 databases on 2 targets`,
    );
    expect(refused.result.targets.map((t) => t.status)).toEqual(['not-started', 'not-started']);
    expect(started(ts)).toEqual([]);

    const name = fleetName();
    const h = await startFleet({ name, targets: ts, mode: 'execute', confirmation: name, databases: 2 });
    const { result } = await ending(h);
    expect(result.outcome).toBe('completed');
    expect((await h.query(fleetProgressQuery)).approvedBy).toBe('the input (confirmation and databases)');
    expect(started(ts)).toEqual([...ts].sort());
  });

  test('plan mode plans every target and ends, touching nothing; a broken plan is named', async () => {
    const ts = targets('ok', 'bad');
    const name = fleetName();
    const { result } = await ending(await startFleet({ name, targets: ts }, `plan-fleet-${name}`));
    expect(result).toMatchObject({ mode: 'plan', outcome: 'planned', endReason: 'planned' });
    expect(result.message).toBe(
      `1 target(s) cannot be reset: ${ts[1]}: kept table accounts references truncated table customers`,
    );
    expect(statuses(result)).toEqual({ [ts[0]]: 'planned', [ts[1]]: 'planned' });
    expect(started(ts)).toEqual([]);
  });

  test("a group's limits apply: canary batches [1, 25%, 100%] over 10 targets start 1, then 2, then 7, each after the one before completed", async () => {
    const ts = targets(...Array.from({ length: 10 }, () => 'ok'));
    const group = `g-${randomUUID().slice(0, 6)}`;
    groups.set(group, { targets: ts, group: { name: group, maxConcurrent: '100%', batches: [1, '25%', '100%'] } });
    const name = fleetName();
    const { result } = await ending(
      await startFleet({ name, group, mode: 'execute', confirmation: name, databases: 10 }),
    );
    expect(result.outcome).toBe('completed');
    expect(result.limits).toMatchObject({
      maxConcurrent: 10,
      batches: [1, 2, 7],
      given: { maxConcurrent: '100%', batches: [1, '25%', '100%'] },
    });
    expect(result.targets.map((t) => t.batch)).toEqual([1, 2, 2, 3, 3, 3, 3, 3, 3, 3]);
    const batch = (b: number) => ts.filter((_, i) => result.targets[i].batch === b);
    for (const b of [2, 3]) {
      const previousEnded = Math.max(...batch(b - 1).map((t) => endOf(t)!.at));
      for (const t of batch(b)) expect(startOf(t)!.at).toBeGreaterThanOrEqual(previousEnded);
    }
    expect(mostAtOnce(ts)).toBe(7);
  });
});

describe('limits', () => {
  test('maxConcurrent: never more than N children at once, a slot refilled as soon as one ends', async () => {
    const ts = targets('ok', 'ok3', 'ok7', 'ok2', 'ok', 'ok4', 'ok1');
    const name = fleetName();
    const { result } = await ending(
      await startFleet({ name, targets: ts, mode: 'execute', maxConcurrent: 3, confirmation: name, databases: 7 }),
    );
    expect(result.outcome).toBe('completed');
    expect(started(ts)).toEqual([...ts].sort());
    expect(mostAtOnce(ts)).toBe(3);
    // The fleet's own record agrees: at no start were more than 3 running.
    for (const t of result.targets) {
      const at = Date.parse(t.startedAt!);
      const alongside = result.targets.filter((o) => Date.parse(o.startedAt!) <= at && Date.parse(o.endedAt!) > at);
      expect(alongside.length).toBeLessThanOrEqual(3);
    }
    // ok3 ended first (3 min): the 4th target started then, not when the 10-minute ones ended.
    expect(startOf(ts[3])!.at - startOf(ts[0])!.at).toBeLessThan(4 * 60_000);
  });

  test('maxFailures as a count: the failure that exceeds it stops new children; those left are not started, with the reason', async () => {
    const ts = targets('ok', 'fail2', 'fail2', 'ok', 'ok');
    const name = fleetName();
    const h = await startFleet({
      name,
      targets: ts,
      mode: 'execute',
      maxFailures: 1,
      confirmation: name,
      databases: 5,
    });
    const { type, message, result } = await ending(h);
    expect(type).toBe('FleetFailed');
    expect(result).toMatchObject({ outcome: 'failed', endReason: 'failureThreshold' });
    expect(started(ts)).toEqual([...ts.slice(0, 3)].sort());
    expect(ts.slice(0, 3).map((t) => startOf(t)!.at)).toEqual(
      ts
        .slice(0, 3)
        .map((t) => startOf(t)!.at)
        .sort((a, b) => a - b),
    );
    expect(statuses(result)).toEqual({
      [ts[0]]: 'completed',
      [ts[1]]: 'failed',
      [ts[2]]: 'failed',
      [ts[3]]: 'not-started',
      [ts[4]]: 'not-started',
    });
    const why = 'failure threshold reached (2 failed or waiting, 1 allowed)';
    for (const t of ts.slice(3))
      expect(byTarget(result)[t]).toMatchObject({ endReason: 'notStarted', detail: `not started: ${why}` });
    expect(byTarget(result)[ts[1]]).toMatchObject({
      outcome: 'failed',
      endReason: 'stepFailed',
      detail: 'TRUNCATE failed: deadlock detected',
    });
    expect(result.message).toBe(`${why}; 1 of 5 completed, 2 failed, 0 aborted, 2 not started`);
    expect(message).toBe(`Fleet "${name}": ${result.message}`);
    await recordHistory('fleet-failure-threshold', h);
  });

  test('maxFailures and maxConcurrent as shares of 10 targets: 10% tolerates one failure, 20% runs two at once', async () => {
    const ts = targets('ok', 'fail1', 'ok', 'fail2', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok');
    const name = fleetName();
    const h = await startFleet({
      name,
      targets: ts,
      mode: 'execute',
      maxConcurrent: '20%',
      maxFailures: '10%',
      confirmation: name,
      databases: 10,
    });
    const { result } = await ending(h);
    expect(result.limits).toMatchObject({ maxConcurrent: 2, maxFailures: 1 });
    expect(result.endReason).toBe('failureThreshold');
    // t0: ok-a, fail1-b · 1 min: b fails (1, tolerated), ok-c starts · 10: a completes, fail2-d starts
    // · 11: c completes, ok-e starts · 12: d fails (2 > 1): nothing more starts; e finishes.
    expect(started(ts)).toEqual([...ts.slice(0, 5)].sort());
    expect(mostAtOnce(ts)).toBe(2);
    expect(result.totals).toMatchObject({ completed: 3, failed: 2, notStarted: 5 });
    expect(byTarget(result)[ts[4]].status).toBe('completed');
    const p = await h.query(fleetProgressQuery);
    expect(p.stopped).toMatchObject({
      reason: 'failureThreshold',
      detail: 'failure threshold reached (2 failed or waiting, 1 allowed)',
    });
  });

  test('a canary batch that fails stops the later batches (batchFailed), even within maxFailures', async () => {
    const ts = targets('fail1', 'ok', 'ok');
    const name = fleetName();
    const { type, result } = await ending(
      await startFleet({
        name,
        targets: ts,
        mode: 'execute',
        batches: [1, '100%'],
        maxFailures: 2,
        maxConcurrent: 3,
        confirmation: name,
        databases: 3,
      }),
    );
    expect(type).toBe('FleetFailed');
    expect(result.endReason).toBe('batchFailed');
    expect(started(ts)).toEqual([ts[0]]);
    const why = `batch 1 did not complete (${ts[0]}: failed)`;
    expect(byTarget(result)[ts[1]].detail).toBe(`not started: ${why}`);
    expect(result.message).toBe(`${why}; 0 of 3 completed, 1 failed, 0 aborted, 2 not started`);
  });

  test('a child that leaves its workers stopped: the fleet ends workersStillStopped, which wins over the threshold', async () => {
    const ts = targets('stuck2', 'ok');
    const name = fleetName();
    const { type, result } = await ending(
      await startFleet({ name, targets: ts, mode: 'execute', confirmation: name, databases: 2 }),
    );
    expect(type).toBe('FleetFailed');
    expect(result.endReason).toBe('workersStillStopped');
    expect(byTarget(result)[ts[0]]).toMatchObject({
      status: 'failed',
      endReason: 'workersStillStopped',
      workers: 'still-stopped',
    });
    expect(byTarget(result)[ts[1]].status).toBe('not-started');
    expect(result.totals.workersStillStopped).toBe(1);
    expect(result.message).toMatch(
      /^1 target\(s\) left their workers STOPPED: start them by hand \(see each run\); 0 of 2 completed, 1 failed/,
    );
  });
});

describe('children that wait for a person', () => {
  test('a production child waits for its own approval, holding its slot; it is not given a confirmation', async () => {
    const ts = targets('prod', 'ok');
    const name = fleetName();
    const h = await startFleet({ name, targets: ts, mode: 'execute', confirmation: name, databases: 2 });
    const p = await until(h, (x) => x.targets[0]?.status === 'awaiting-approval', 'the child to wait for its approval');
    expect(p.targets[0].detail).toBe(`waiting for its own approval: reset-runbook approve ${resetWorkflowId(ts[0])}`);
    expect(p.targets[0].plan?.ownApproval).toBe('environment "production"');
    expect(p.targets[1].status).toBe('planned');
    expect(p.totals.running).toBe(1);
    expect(startOf(ts[0])?.input).toEqual({ target: ts[0], mode: 'execute', reason: `fleet ${name}` });
    await env.client.workflow.getHandle(resetWorkflowId(ts[0])).signal(approveSignal, { confirmation: dbOf(ts[0]) });
    const { result } = await ending(h);
    expect(result.outcome).toBe('completed');
    expect(started(ts)).toEqual([...ts].sort());
    expect(startOf(ts[1])!.at).toBeGreaterThanOrEqual(endOf(ts[0])!.at);
  });

  test('a paused child frees its slot but counts as a failure while it waits; resumed, it completes', async () => {
    const ts = targets('pause', 'ok');
    const name = fleetName();
    const h = await startFleet({
      name,
      targets: ts,
      mode: 'execute',
      maxFailures: 1,
      confirmation: name,
      databases: 2,
    });
    const p = await until(
      h,
      (x) => x.targets[0]?.status === 'waiting-for-operator' && x.targets[1]?.status === 'running',
      'the pause and the next child',
    );
    expect(p.totals).toMatchObject({ waiting: 1, running: 1 });
    expect(p.targets[0]).toMatchObject({
      phase: 'waiting-for-operator',
      step: 'reset',
      stepStatus: 'waiting-for-operator',
    });
    expect(p.targets[0].detail).toBe(
      `waiting for an operator after "3 Reset the database" failed: TRUNCATE could not lock its tables within 1s (reset-runbook resume|abort ${resetWorkflowId(ts[0])})`,
    );
    await env.client.workflow.getHandle(resetWorkflowId(ts[0])).signal(retrySignal);
    await until(h, (x) => x.targets[0]?.status === 'running', 'the resumed child');
    const { result } = await ending(h);
    expect(result.outcome).toBe('completed');
    expect(statuses(result)).toEqual({ [ts[0]]: 'completed', [ts[1]]: 'completed' });
  });

  test('a paused child reaches maxFailures 0 while it waits: nothing more starts, even once it is resumed and completes', async () => {
    const ts = targets('pause', 'ok');
    const name = fleetName();
    const h = await startFleet({ name, targets: ts, mode: 'execute', confirmation: name, databases: 2 });
    const p = await until(h, (x) => x.stopped !== undefined, 'the threshold');
    expect(p).toMatchObject({
      phase: 'stopping',
      stopped: { reason: 'failureThreshold', detail: 'failure threshold reached (1 failed or waiting, 0 allowed)' },
    });
    expect(statuses(p)).toEqual({ [ts[0]]: 'waiting-for-operator', [ts[1]]: 'not-started' });
    await env.client.workflow.getHandle(resetWorkflowId(ts[0])).signal(retrySignal);
    const { result } = await ending(h);
    expect(result).toMatchObject({ outcome: 'failed', endReason: 'failureThreshold' });
    expect(statuses(result)).toEqual({ [ts[0]]: 'completed', [ts[1]]: 'not-started' });
    expect(started(ts)).toEqual([ts[0]]);
  });

  test('onChildPause "abort" (the default of an unattended run): a paused child is aborted and the fleet goes on within maxFailures', async () => {
    const ts = targets('pause', 'ok');
    const name = fleetName();
    const { type, result } = await ending(
      await startFleet({ name, targets: ts, mode: 'execute', unattended: true, maxFailures: 1 }, `scheduled-${name}-x`),
    );
    expect(type).toBe('FleetFailed');
    expect(result.endReason).toBe('targetsFailed');
    expect(byTarget(result)[ts[0]]).toMatchObject({
      status: 'aborted',
      outcome: 'aborted',
      detail: `Aborted by fleet ${name}: a step failed and this fleet runs unattended`,
    });
    expect(byTarget(result)[ts[1]].status).toBe('completed');
    expect(result.message).toBe('1 of 2 completed, 0 failed, 1 aborted, 0 not started');
  });

  test('onChildPause "abort" in an attended fleet', async () => {
    const ts = targets('pause', 'ok');
    const name = fleetName();
    const { result } = await ending(
      await startFleet({ name, targets: ts, mode: 'execute', onChildPause: 'abort', confirmation: name, databases: 2 }),
    );
    expect(result.endReason).toBe('failureThreshold');
    expect(statuses(result)).toEqual({ [ts[0]]: 'aborted', [ts[1]]: 'not-started' });
  });
});

describe('refusals: nothing is touched', () => {
  test('an unattended fleet with a production target is refused, and the targets with webhooks are told', async () => {
    const ts = targets('ok', 'prod');
    const name = fleetName();
    const { type, result } = await ending(
      await startFleet(
        { name, targets: ts, mode: 'execute', unattended: true, schedule: 'nightly' },
        `scheduled-${name}-x`,
      ),
    );
    expect(type).toBe('FleetRefused');
    expect(result).toMatchObject({ outcome: 'rejected', endReason: 'refused' });
    const why = `an unattended run never waits for a person or resets production: ${ts[1]} (environment "production")`;
    expect(result.message).toBe(`refused; nothing was touched: ${why}`);
    expect(started(ts)).toEqual([]);
    expect(notifications.filter((n) => ts.includes(n.target))).toEqual([
      {
        target: ts[1],
        text: `Scheduled reset of "${ts[1]}" (fleet ${name}, schedule nightly) REFUSED, nothing was touched: ${why}`,
      },
    ]);
  });

  test('a plan error refuses the fleet', async () => {
    const ts = targets('ok', 'bad');
    const name = fleetName();
    const { type, result } = await ending(
      await startFleet({ name, targets: ts, mode: 'execute', confirmation: name, databases: 2 }),
    );
    expect(type).toBe('FleetRefused');
    expect(result.message).toBe(
      `refused; nothing was touched: ${ts[1]}: kept table accounts references truncated table customers`,
    );
    expect(started(ts)).toEqual([]);
  });

  test('an unknown group fails the plan', async () => {
    const name = fleetName();
    const { type, result } = await ending(await startFleet({ name, group: 'nope', mode: 'execute' }));
    expect(type).toBe('FleetFailed');
    expect(result.endReason).toBe('planFailed');
    expect(result.message).toMatch(/^the plan failed; nothing was touched: .*Unknown group "nope"/);
  });

  test('no approval within approvalTimeout: the fleet fails, no child started', async () => {
    const ts = targets('ok');
    const name = fleetName();
    const h = await startFleet({ name, targets: ts, mode: 'execute', approvalTimeout: '30m' });
    const p = await until(h, (x) => x.phase === 'awaiting-approval', 'the approval');
    expect(Date.parse(p.approval!.deadline) - Date.parse(p.approval!.since)).toBe(30 * 60_000);
    const { type, result } = await ending(h);
    expect(type).toBe('FleetFailed');
    expect(result).toMatchObject({
      endReason: 'approvalTimedOut',
      message: 'no approval within 30m; nothing was touched',
    });
    expect(result.targets[0]).toMatchObject({
      status: 'not-started',
      detail: 'not started: no approval within 30m; nothing was touched',
    });
    expect(started(ts)).toEqual([]);
  });

  test('a target already being reset (reset-<target> running) is not reset twice: that target fails', async () => {
    const ts = targets('ok', 'ok600');
    const busy = await env.client.workflow.start('productionDataReset', {
      taskQueue: TASK_QUEUE,
      workflowId: resetWorkflowId(ts[1]),
      args: [{ target: ts[1], mode: 'execute' }],
    });
    try {
      const name = fleetName();
      const { result } = await ending(
        await startFleet({ name, targets: ts, mode: 'execute', maxFailures: 1, confirmation: name, databases: 2 }),
      );
      expect(result.endReason).toBe('targetsFailed');
      expect(byTarget(result)[ts[1]]).toMatchObject({
        status: 'failed',
        outcome: 'rejected',
        endReason: 'refused',
        detail: `another reset of "${ts[1]}" is running (${resetWorkflowId(ts[1])}); this fleet did not start one`,
      });
      expect(started(ts)).toEqual([...ts].sort()); // the busy run's own start, and the fleet's one child
      expect(startOf(ts[1])?.parent).toBeUndefined();
    } finally {
      await busy.terminate('test over');
    }
  });
});

describe('abort and cancellation', () => {
  test('abort while planning: the plans stop, no child starts', async () => {
    const ts = targets('slow', 'ok');
    const name = fleetName();
    const h = await startFleet({ name, targets: ts, mode: 'execute' });
    const deadline = Date.now() + 10000;
    while (!planStarted.has(ts[0]) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await h.signal(fleetAbortSignal, { by: 'ana', reason: 'wrong day' });
    const { type, result } = await ending(h);
    planGates.get(ts[0])?.();
    expect(type).toBe('FleetAborted');
    expect(result).toMatchObject({ outcome: 'aborted', endReason: 'aborted', message: 'aborted by ana: wrong day' });
    expect(result.targets.map((t) => t.status)).toEqual(['not-started', 'not-started']);
    expect(started(ts)).toEqual([]);
    expect((await h.query(fleetProgressQuery)).phase).toBe('aborted');
  });

  test('abort while waiting for the approval', async () => {
    const ts = targets('ok');
    const name = fleetName();
    const h = await startFleet({ name, targets: ts, mode: 'execute' });
    await until(h, (x) => x.phase === 'awaiting-approval', 'the approval');
    await h.signal(fleetAbortSignal, { by: 'ana' });
    const { type, result } = await ending(h);
    expect(type).toBe('FleetAborted');
    expect(result).toMatchObject({ outcome: 'aborted', endReason: 'aborted', message: 'aborted by ana' });
    expect(started(ts)).toEqual([]);
  });

  test('abort while children run: every running child ends aborted, none starts after', async () => {
    const ts = targets('ok', 'ok', 'ok', 'ok');
    const name = fleetName();
    const h = await startFleet({
      name,
      targets: ts,
      mode: 'execute',
      maxConcurrent: 2,
      confirmation: name,
      databases: 4,
    });
    await until(
      h,
      (x) => x.totals.running === 2 && x.targets.slice(0, 2).every((t) => t.step === 'reset'),
      'two running children',
    );
    await h.signal(fleetAbortSignal, { by: 'ana', reason: 'incident' });
    const { type, result } = await ending(h);
    expect(type).toBe('FleetAborted');
    expect(result).toMatchObject({ outcome: 'aborted', endReason: 'aborted' });
    expect(result.message).toBe('aborted by ana: incident; 0 of 4 completed, 0 failed, 2 aborted, 2 not started');
    expect(statuses(result)).toEqual({
      [ts[0]]: 'aborted',
      [ts[1]]: 'aborted',
      [ts[2]]: 'not-started',
      [ts[3]]: 'not-started',
    });
    expect(byTarget(result)[ts[0]].detail).toBe('Aborted by ana: incident');
    expect(byTarget(result)[ts[2]].detail).toBe('not started: aborted by ana: incident');
    expect(started(ts)).toEqual([...ts.slice(0, 2)].sort());
    await recordHistory('fleet-aborted-while-running', h);
  });

  test('abort after the threshold stopped new children: a child still waiting for an operator gets it', async () => {
    const ts = targets('pause', 'ok');
    const name = fleetName();
    const h = await startFleet({ name, targets: ts, mode: 'execute', confirmation: name, databases: 2 });
    await until(h, (x) => x.phase === 'stopping', 'the threshold');
    await h.signal(fleetAbortSignal, { by: 'ana' });
    const { type, result } = await ending(h);
    expect(type).toBe('FleetAborted');
    expect(statuses(result)).toEqual({ [ts[0]]: 'aborted', [ts[1]]: 'not-started' });
  });

  test('a cancelled fleet aborts its running children and waits for them', async () => {
    const ts = targets('ok', 'ok', 'ok');
    const name = fleetName();
    const h = await startFleet({
      name,
      targets: ts,
      mode: 'execute',
      maxConcurrent: 2,
      confirmation: name,
      databases: 3,
    });
    await until(
      h,
      (x) => x.totals.running === 2 && x.targets.slice(0, 2).every((t) => t.step === 'reset'),
      'two running children',
    );
    await h.cancel();
    const { type, result } = await ending(h);
    expect(type).toBe('FleetFailed');
    expect(result).toMatchObject({ outcome: 'failed', endReason: 'cancelled' });
    expect(result.message).toBe(
      'aborted by a cancellation of the fleet: the fleet run was cancelled; 0 of 3 completed, 0 failed, 2 aborted, 1 not started',
    );
    expect(statuses(result)).toEqual({ [ts[0]]: 'aborted', [ts[1]]: 'aborted', [ts[2]]: 'not-started' });
    for (const t of ts.slice(0, 2)) expect(endOf(t)?.outcome).toBe('aborted');
    expect(started(ts)).toEqual([...ts.slice(0, 2)].sort());
    expect((await h.query(fleetProgressQuery)).phase).toBe('cancelled');
  });

  test('a fleet cancelled after the threshold stopped new children aborts the child still waiting', async () => {
    const ts = targets('pause', 'ok');
    const name = fleetName();
    const h = await startFleet({ name, targets: ts, mode: 'execute', confirmation: name, databases: 2 });
    await until(h, (x) => x.phase === 'stopping', 'the threshold');
    await h.cancel();
    const { result } = await ending(h);
    expect(result.endReason).toBe('cancelled');
    expect(statuses(result)).toEqual({ [ts[0]]: 'aborted', [ts[1]]: 'not-started' });
  });

  test('a fleet cancelled while waiting for its approval touches nothing', async () => {
    const ts = targets('ok');
    const name = fleetName();
    const h = await startFleet({ name, targets: ts, mode: 'execute' });
    await until(h, (x) => x.phase === 'awaiting-approval', 'the approval');
    await h.cancel();
    const { type, result } = await ending(h);
    expect(type).toBe('FleetFailed');
    expect(result).toMatchObject({
      endReason: 'cancelled',
      message: 'the fleet was cancelled while waiting for its approval; nothing was touched',
    });
    expect(started(ts)).toEqual([]);
  });
});

test('the abort signal of a fleet and of a reset are the same name (a person aborts either the same way)', () => {
  expect(fleetAbortSignal.name).toBe(abortSignal.name);
});
