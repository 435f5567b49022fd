/**
 * Four-eyes for the restore (restoreFromBackup), with mocked activities on Temporal's time-skipping test server: a
 * target that needs two distinct approvers and no self-approval obeys the same rules as its reset
 * (test/unit/four-eyes.test.ts). Each test checks that nothing destructive ran until the approvals were in, and what
 * status and follow print of the wait (the CLI's own renderers, fed the run's progress).
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import {
  approveSignal,
  progressQuery,
  restoreWorkflowId,
  type Progress,
  type RestoreInput,
  type RestoreResult,
  type RunSettings,
} from '../../src/contract';
import { approvalChangeLines, approvalWaitLines } from '../../src/cli/render-approvals';
import { renderRestoreResult } from '../../src/cli/render-restore';
import { PLAIN } from '../../src/cli/style';
import { fakeRestorePlan } from '../support/fake-plan';
import { recordHistory } from '../support/histories';
import { withTimeSkippingWorker } from '../support/time-skipping';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let env: TestWorkflowEnvironment;
const TASK_QUEUE = `restore-four-eyes-${randomUUID()}`;
const DB = 'phonefin_production';
const DESTRUCTIVE = ['stopWorkers', 'restoreDatabase', 'restoreStorage'];
const ANSWERS: Record<string, unknown> = {
  stopWorkers: { staleProcessRows: 0, claimedByDeadProcesses: 0 },
  restoreDatabase: { tables: 1, rows: 5, mismatches: [], queueDrift: [] },
  restoreStorage: { count: 2, bytes: 20 },
  startWorkers: { alive: 3 },
  verifyRestore: { ok: true, report: 'primary/public.customers: 5', mismatches: [] },
  acquireResetLock: [],
  releaseResetLock: { released: 1 },
  sendNotification: undefined,
};
/** Each target's settings and the calls its activities got. */
const targets = new Map<string, { settings: Partial<RunSettings>; calls: string[] }>();

withTimeSkippingWorker({
  taskQueue: TASK_QUEUE,
  activities: () => {
    const act = (name: string) => async (args: { target?: string }) => {
      const t = targets.get(String(args?.target));
      if (!t) throw ApplicationFailure.nonRetryable(`no mocks for target ${args?.target}`);
      t.calls.push(name);
      return name === 'planRestore'
        ? fakeRestorePlan(args.target!, { digest: 'restore-digest-0123' }, t.settings)
        : ANSWERS[name];
    };
    return Object.fromEntries(['planRestore', ...Object.keys(ANSWERS)].map((n) => [n, act(n)]));
  },
  ready: (e) => (env = e),
});

/** A restore of a target needing two approvals, none from its starter (alice unless `over` says otherwise). */
async function restore(settings: Partial<RunSettings> = {}, over: Partial<RestoreInput> = {}) {
  const t = `rfe-${randomUUID().slice(0, 8)}`;
  const calls: string[] = [];
  targets.set(t, { settings: { approvalsRequired: 2, allowSelfApproval: false, ...settings }, calls });
  const h = await env.client.workflow.start('restoreFromBackup', {
    taskQueue: TASK_QUEUE,
    workflowId: restoreWorkflowId(t),
    args: [{ target: t, startedBy: 'alice@ops', ...over } as RestoreInput],
  });
  return { t, calls, h };
}
type Handle = Awaited<ReturnType<typeof restore>>['h'];

async function until(h: Handle, pred: (p: Progress) => boolean, ms = 20_000): Promise<Progress> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await h.query(progressQuery).catch(() => undefined);
    if (p && pred(p)) return p;
    if (Date.now() > deadline) throw new Error(`timed out; last progress: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const approve = (h: Handle, identity: string) => h.signal(approveSignal, { confirmation: DB, identity });
const seen = (h: Handle, n: number) =>
  until(h, (p) => (p.approval?.approvals?.length ?? 0) + (p.approval?.refused?.length ?? 0) >= n);
const destructive = (calls: string[]) => calls.filter((c) => DESTRUCTIVE.includes(c));

test("the restore's starter may not approve it: refused, not counted, nothing touched; status says why", async () => {
  const { calls, h } = await restore();
  await until(h, (p) => p.phase === 'awaiting-approval');
  await approve(h, 'alice@ops');
  const p = await seen(h, 1);
  expect(p.phase).toBe('awaiting-approval');
  expect(p.approval).toMatchObject({ required: 2, startedBy: 'alice@ops', allowSelfApproval: false, approvals: [] });
  expect(p.approval?.refused?.[0].why).toContain('alice@ops started this run and may not approve it');
  expect(p.steps.find((s) => s.name === 'approval')?.error).toContain('approval not counted');
  expect(approvalWaitLines(p.approval!, h.workflowId).join('\n')).toContain(
    '0 of 2 approvals; needs 2 more approvals, not from alice@ops (started the run)',
  );
  expect(destructive(calls)).toEqual([]);
  await h.terminate('test done');
});

test('a second approval by the same identity counts once; follow prints the one counted and the one not', async () => {
  const { calls, h } = await restore();
  await until(h, (p) => p.phase === 'awaiting-approval');
  await approve(h, 'bob@ops');
  const one = await seen(h, 1);
  await approve(h, 'bob@ops');
  const p = await seen(h, 2);
  expect(p.phase).toBe('awaiting-approval');
  expect(p.approval?.approvals?.map((a) => a.identity)).toEqual(['bob@ops']);
  expect(p.approval?.refused?.[0].why).toBe('bob@ops has already approved this run; it counts once');
  const follow = [
    ...approvalChangeLines(undefined, one.approval, 'T'),
    ...approvalChangeLines(one.approval, p.approval, 'T'),
  ];
  expect(follow).toEqual([
    '[T] approval counted: bob@ops; 1 of 2 approvals: bob@ops (' +
      p.approval!.approvals![0].at.slice(11, 19) +
      'Z); needs 1 more approval, not from alice@ops (started the run)',
    '[T] approval NOT counted: bob@ops has already approved this run; it counts once',
  ]);
  expect(destructive(calls)).toEqual([]);
  await h.terminate('test done');
});

test('two distinct approvers complete the restore; the result and its ending name them', async () => {
  const { calls, h } = await restore({ approvers: ['bob@ops', 'carol@ops'] });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await approve(h, 'bob@ops');
  await seen(h, 1);
  expect(destructive(calls)).toEqual([]);
  await approve(h, 'carol@ops');
  const r: RestoreResult = await h.result();
  expect(r).toMatchObject({ outcome: 'completed', startedBy: 'alice@ops' });
  expect(r.approvals?.map((a) => [a.identity, a.planDigest])).toEqual([
    ['bob@ops', 'restore-digest-0123'],
    ['carol@ops', 'restore-digest-0123'],
  ]);
  expect(calls).toEqual([
    'planRestore',
    'acquireResetLock',
    'stopWorkers',
    'restoreDatabase',
    'restoreStorage',
    'startWorkers',
    'verifyRestore',
    'releaseResetLock',
  ]);
  const ending = renderRestoreResult(r, PLAIN);
  expect(ending).toContain('  started by: alice@ops');
  expect(ending).toMatch(/approved by: bob@ops \(.*\), carol@ops \(/);
  await recordHistory('restore-four-eyes-completed', h);
});

test('self-approval off and no starter in the input: the restore is refused before anything is claimed', async () => {
  const { calls, h } = await restore({}, { startedBy: undefined });
  const err = await h.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const r = ((err as WorkflowFailedError).cause as ApplicationFailure).details?.[0] as RestoreResult;
  expect(r).toMatchObject({ outcome: 'rejected', endReason: 'refused' });
  expect(r.message).toContain('"startedBy"');
  expect(calls).toEqual(['planRestore']);
});

test('a target with the default rules: one approval from anyone, the starter included, as before', async () => {
  const { calls, h } = await restore({ approvalsRequired: undefined, allowSelfApproval: undefined });
  await until(h, (p) => p.phase === 'awaiting-approval');
  await approve(h, 'alice@ops');
  const r: RestoreResult = await h.result();
  expect(r.outcome).toBe('completed');
  // A plain one-approval restore keeps its result as before: no approvals list (audit reads its approve signal).
  expect(r.approvals).toBeUndefined();
  expect(destructive(calls)).toEqual(DESTRUCTIVE);
});
