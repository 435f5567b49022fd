/**
 * A fleet over a four-eyes target, with the REAL reset as its child (not the fake of fleet-workflow.test.ts) and
 * mocked activities, on Temporal's time-skipping test server. The fleet passes its starter on to each child, so a
 * target with `allowSelfApproval: false` refuses the approval of the person who started the fleet and counts the
 * others', as for a reset that person started alone.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import {
  approveSignal,
  fleetWorkflowId,
  progressQuery,
  resetWorkflowId,
  type FleetInput,
  type FleetResult,
  type Progress,
  type ResetResult,
} from '../../src/contract';
import { fakePlan } from '../support/fake-plan';
import { DESTRUCTIVE, mockResetActivities } from '../support/mock-reset-activities';
import { withTimeSkippingWorker } from '../support/time-skipping';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let env: TestWorkflowEnvironment;
const TASK_QUEUE = `fleet-four-eyes-${randomUUID()}`;
const { callsByTarget, plans, activities } = mockResetActivities(async () =>
  new Date(await env.currentTimeMs()).toISOString(),
);

withTimeSkippingWorker({
  taskQueue: TASK_QUEUE,
  activities: () => ({
    ...activities,
    fleetTargets: async ({ targets }: { targets?: string[] }) => ({ targets: targets ?? [] }),
  }),
  ready: (e) => (env = e),
});

const DB = 'phonefin_production';

/** A production target needing two approvals, none from its starter; the fleet's own approval is typed in advance. */
async function fleetOver(over: Partial<FleetInput>): Promise<{ t: string; calls: string[]; fleet: WorkflowHandle }> {
  const t = `ffe-${randomUUID().slice(0, 8)}`;
  const calls: string[] = [];
  callsByTarget.set(t, calls);
  const plan = fakePlan(t, { databaseName: DB, digest: 'digest-fleet-four-eyes' });
  plans.set(t, {
    ...plan,
    settings: { ...plan.settings, approvalRequired: true, approvalsRequired: 2, allowSelfApproval: false },
  });
  const name = `f${t}`;
  const fleet = await env.client.workflow.start('resetFleet', {
    taskQueue: TASK_QUEUE,
    workflowId: fleetWorkflowId(name),
    args: [{ name, targets: [t], mode: 'execute', confirmation: name, databases: 1, ...over } as FleetInput],
  });
  return { t, calls, fleet };
}

/** The child's progress once `pred` holds (queries do not let the test server skip time). */
async function child(t: string, pred: (p: Progress) => boolean, ms = 20_000): Promise<Progress> {
  const h = env.client.workflow.getHandle(resetWorkflowId(t));
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await h.query(progressQuery).catch(() => undefined);
    if (p && pred(p)) return p;
    if (Date.now() > deadline) throw new Error(`timed out; last progress of the child: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const approve = (t: string, identity: string) =>
  env.client.workflow.getHandle(resetWorkflowId(t)).signal(approveSignal, { confirmation: DB, identity });
const seen = (p: Progress) => (p.approval?.approvals?.length ?? 0) + (p.approval?.refused?.length ?? 0);

test("the fleet's starter may not approve its child; two others do and the child completes", async () => {
  const { t, calls, fleet } = await fleetOver({ startedBy: 'alice@ops' });
  const waiting = await child(t, (p) => p.phase === 'awaiting-approval');
  expect(waiting.approval).toMatchObject({ required: 2, startedBy: 'alice@ops', allowSelfApproval: false });

  await approve(t, 'alice@ops');
  const refused = await child(t, (p) => seen(p) >= 1);
  expect(refused.approval?.approvals).toEqual([]);
  expect(refused.approval?.refused?.[0].why).toContain('alice@ops started this run and may not approve it');
  expect(calls.filter((c) => DESTRUCTIVE.includes(c))).toEqual([]);

  await approve(t, 'bob@ops');
  await child(t, (p) => seen(p) >= 2);
  await approve(t, 'carol@ops');
  const r: FleetResult = await fleet.result();
  expect(r.outcome).toBe('completed');
  expect(r.targets.map((x) => [x.target, x.outcome])).toEqual([[t, 'completed']]);
  const c: ResetResult = await env.client.workflow.getHandle(resetWorkflowId(t)).result();
  expect(c.startedBy).toBe('alice@ops');
  expect(c.approvals?.map((a) => a.identity)).toEqual(['bob@ops', 'carol@ops']);
  expect(calls.filter((x) => DESTRUCTIVE.includes(x))).toEqual(DESTRUCTIVE);
});

test('a fleet started without a starter (a Web UI form, an older CLI): the child refuses, nothing touched', async () => {
  const { t, calls, fleet } = await fleetOver({ startedBy: '  ' });
  const err = await fleet.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  // A failed fleet carries its result in the failure's details.
  const r = ((err as WorkflowFailedError).cause as ApplicationFailure).details?.[0] as FleetResult;
  expect(r.outcome).toBe('failed');
  const target = r.targets.find((x) => x.target === t)!;
  expect(target.outcome).toBe('rejected');
  expect(target.detail).toContain('"startedBy"');
  expect(calls.filter((c) => c !== 'planReset')).toEqual([]);
});
