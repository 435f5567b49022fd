/**
 * Four-eyes approvals, with mocked activities on Temporal's time-skipping test server: a target that
 * needs two distinct approvers and no self-approval. Each test checks that nothing destructive ran
 * until the approvals were in (or ever, for a rejected run).
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import {
  approveSignal,
  progressQuery,
  rejectSignal,
  resetWorkflowId,
  type ApproveArgs,
  type Progress,
  type ResetInput,
  type ResetResult,
  type RunSettings,
} from '../../src/contract';
import { recordHistory } from '../support/histories';
import { withTimeSkippingWorker } from '../support/time-skipping';
import { fakePlan } from '../support/fake-plan';
import { DESTRUCTIVE, mockResetActivities } from '../support/mock-reset-activities';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let env: TestWorkflowEnvironment;
const TASK_QUEUE = `four-eyes-${randomUUID()}`;
const { callsByTarget, plans, activities } = mockResetActivities(async () =>
  new Date(await env.currentTimeMs()).toISOString(),
);

withTimeSkippingWorker({
  taskQueue: TASK_QUEUE,
  activities: () => activities,
  ready: (e) => (env = e),
});

const DB = 'phonefin_production';

/** A production target that needs `settings`' approvals; returns its name and the calls its activities get. */
function target(settings: Partial<RunSettings>): { t: string; calls: string[] } {
  const t = `fe-${randomUUID().slice(0, 8)}`;
  const calls: string[] = [];
  callsByTarget.set(t, calls);
  const plan = fakePlan(t, { databaseName: DB, digest: 'digest-1234567890abcdef' });
  plans.set(t, {
    ...plan,
    settings: { ...plan.settings, approvalRequired: true, approvalsRequired: 2, allowSelfApproval: false, ...settings },
  });
  return { t, calls };
}

async function start(t: string, over: Partial<ResetInput> = {}) {
  return env.client.workflow.start('productionDataReset', {
    taskQueue: TASK_QUEUE,
    workflowId: resetWorkflowId(t),
    args: [{ target: t, mode: 'execute', requireApproval: true, startedBy: 'alice@ops', ...over } as ResetInput],
  });
}

type Handle = Awaited<ReturnType<typeof start>>;

async function until(h: Handle, pred: (p: Progress) => boolean, ms = 20000): Promise<Progress> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await h.query(progressQuery).catch(() => undefined);
    if (p && pred(p)) return p;
    if (Date.now() > deadline) throw new Error(`timed out; last progress: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const approve = (h: Handle, identity: string, over: Partial<ApproveArgs> = {}) =>
  h.signal(approveSignal, { confirmation: DB, identity, by: `${identity} (test)`, ...over });
const waiting = (h: Handle) => until(h, (p) => p.phase === 'awaiting-approval');
const seen = (h: Handle, n: number) =>
  until(h, (p) => (p.approval?.approvals?.length ?? 0) + (p.approval?.refused?.length ?? 0) >= n);

test("the starter's own approval is refused and does not count", async () => {
  const { t, calls } = target({});
  const h = await start(t);
  await waiting(h);
  await approve(h, 'alice@ops');
  const p = await seen(h, 1);
  expect(p.phase).toBe('awaiting-approval');
  expect(p.approval?.approvals).toEqual([]);
  expect(p.approval?.refused?.[0]).toMatchObject({ identity: 'alice@ops' });
  expect(p.approval?.refused?.[0].why).toContain('started this run and may not approve it');
  expect(p.steps.find((s) => s.name === 'approval')?.error).toContain('approval not counted');
  expect(calls.filter((c) => DESTRUCTIVE.includes(c))).toEqual([]);
  await h.terminate('test done');
});

test('a second approval by the same identity counts once', async () => {
  const { t, calls } = target({});
  const h = await start(t);
  await waiting(h);
  await approve(h, 'bob@ops');
  await approve(h, 'bob@ops');
  const p = await seen(h, 2);
  expect(p.phase).toBe('awaiting-approval');
  expect(p.approval?.approvals?.map((a) => a.identity)).toEqual(['bob@ops']);
  expect(p.approval?.refused?.[0].why).toContain('has already approved this run; it counts once');
  expect(p.steps.find((s) => s.name === 'approval')?.detail).toContain('1 of 2 approvals: bob@ops');
  expect(calls.filter((c) => DESTRUCTIVE.includes(c))).toEqual([]);
  await h.terminate('test done');
});

test('an identity not among the approvers is refused', async () => {
  const { t, calls } = target({ approvers: ['bob@ops', 'carol@ops'] });
  const h = await start(t);
  await waiting(h);
  await approve(h, 'mallory@ops');
  const p = await seen(h, 1);
  expect(p.approval?.approvals).toEqual([]);
  expect(p.approval?.refused?.[0].why).toBe("mallory@ops is not one of this target's approvers (bob@ops, carol@ops)");
  expect(calls.filter((c) => DESTRUCTIVE.includes(c))).toEqual([]);
  await h.terminate('test done');
});

test('two distinct approvers complete the run; each approval records identity, time and plan digest', async () => {
  const { t, calls } = target({ approvers: ['bob@ops', 'carol@ops'] });
  const h = await start(t);
  await waiting(h);
  await approve(h, 'bob@ops');
  await seen(h, 1);
  expect(calls.filter((c) => DESTRUCTIVE.includes(c))).toEqual([]);
  await approve(h, 'carol@ops');
  const r: ResetResult = await h.result();
  expect(r.outcome).toBe('completed');
  expect(r.startedBy).toBe('alice@ops');
  expect(r.approvals?.map((a) => [a.identity, a.planDigest])).toEqual([
    ['bob@ops', 'digest-1234567890abcdef'],
    ['carol@ops', 'digest-1234567890abcdef'],
  ]);
  expect(r.approvals?.every((a) => !Number.isNaN(Date.parse(a.at)))).toBe(true);
  expect(calls).toEqual([
    'planReset',
    'backupDatabase',
    'stopWorkers',
    'resetDatabase',
    'purgeStorage',
    'startWorkers',
    'verifyCounts',
  ]);
  const final = await h.query(progressQuery);
  expect(final.steps.find((s) => s.name === 'approval')?.detail).toMatch(/^2 of 2 approvals: bob@ops .*carol@ops/);
  await recordHistory('four-eyes-completed', h);
});

test('reject ends the run "rejected" with nothing destructive called', async () => {
  const { t, calls } = target({});
  const h = await start(t);
  await waiting(h);
  await approve(h, 'bob@ops');
  await seen(h, 1);
  await h.signal(rejectSignal, { identity: 'carol@ops', reason: 'wrong day' });
  const err = await h.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe('RunRejected');
  const r = cause.details?.[0] as ResetResult;
  expect(r).toMatchObject({ outcome: 'rejected', endReason: 'rejected', workers: { status: 'untouched' } });
  expect(r.rejectedBy).toMatchObject({ identity: 'carol@ops', reason: 'wrong day' });
  expect(calls.filter((c) => DESTRUCTIVE.includes(c) || c === 'startWorkers')).toEqual([]);
  await recordHistory('four-eyes-rejected', h);
});

test('self-approval off and no starter in the input: refused before the backup', async () => {
  const { t, calls } = target({});
  const h = await start(t, { startedBy: undefined });
  const err = await h.result().catch((e: unknown) => e);
  const r = ((err as WorkflowFailedError).cause as ApplicationFailure).details?.[0] as ResetResult;
  expect(r).toMatchObject({ outcome: 'rejected', endReason: 'refused' });
  expect(r.message).toContain('"startedBy"');
  expect(calls).toEqual(['planReset']);
});
