/**
 * The plan's S3 requests (its HEAD sample of the blobs, its probes of the buckets it will write to) meet
 * a failing S3. A throttled or briefly failing S3 fails the plan's attempt, which is tried again,
 * and the run goes on; one that stays so ends the run at its plan, saying so truthfully in the CLI's
 * views, with the workers never touched; a refusal that will not pass by itself (403) is a plan error on
 * the first attempt.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { LOCAL_ACTIVITY_MARKER } from '../../src/contract';
import { CLI, run } from '../cli/harness';
import { startChaosProxy, type ChaosProxy } from '../../faults/lib/chaos-proxy';
import { fixture, type ResetFixture, type WorkerProcess } from '../support/fixture';

let f: ResetFixture;
let proxy: ChaosProxy;
afterEach(async () => {
  await f?.cleanup();
  await proxy?.close();
});

let worker: WorkerProcess;
async function setup() {
  proxy = await startChaosProxy(process.env.RR_S3_ENDPOINT!);
  f = await fixture({ target: { endpoint: proxy.endpoint } });
  worker = await f.startWorker();
}

/**
 * The attempt the plan ended on: the plan runs as a local activity (src/workflows/activities.ts), whose marker names
 * its last try once it has ended; 0 while it runs.
 */
async function planAttempt(h: WorkflowHandle): Promise<number> {
  for (const e of (await h.fetchHistory()).events!) {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== LOCAL_ACTIVITY_MARKER || !m.details?.data?.payloads?.[0]) continue;
    const data = defaultPayloadConverter.fromPayload<{ activity_type: string; attempt: number }>(
      m.details.data.payloads[0],
    );
    if (data.activity_type === 'planReset') return data.attempt;
  }
  return 0;
}

/** Until the worker reports the plan's first try failed (the SDK's "Activity failed", at warn). */
async function firstTryFailed(w: WorkerProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!/Activity failed \{[^}]*activityType: 'planReset'/.test(w.log())) {
    if (Date.now() > deadline) throw new Error(`the plan's first try did not fail within 60 s:\n${w.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('S3 answering 503 SlowDown to the whole first attempt: the plan is tried again and comes back clean', async () => {
  await setup();
  proxy.rule = { match: 'any', action: 'slowdown', every: 1, times: Infinity };
  const h = await f.start({ mode: 'plan' });
  // The whole first try meets the throttling; the next, a second later, does not.
  await firstTryFailed(worker);
  const faulted = proxy.injected;
  proxy.rule = undefined; // S3 stops throttling
  const r = await h.result();
  expect(faulted).toBeGreaterThan(0);
  expect(r.outcome).toBe('planned');
  expect(r.plan!.errors).toEqual([]);
  const o = f.report.objects!;
  expect(r.plan!.objectsToDelete.sample).toEqual({
    checked: o.blob + o.trackedVariant,
    present: o.blob + o.trackedVariant,
  });
  const tries = await planAttempt(h);
  expect(tries).toBeGreaterThanOrEqual(2);
  // Every view counts the server's tries in the plan's row: the run's own state, and its history's reading.
  expect(r.plan!.attempt).toBe(tries);
  const json = await run(CLI, ['status', h.workflowId, '--json'], { env: f.workerEnv as Record<string, string> });
  expect((JSON.parse(json.stdout) as { steps: { name: string; attempts: number }[] }).steps[0]).toMatchObject({
    name: 'plan',
    attempts: tries,
  });
});

test('S3 refusing with 403 AccessDenied: a plan error naming the bucket, on the first attempt', async () => {
  await setup();
  proxy.rule = { match: 'any', action: 'forbidden', every: 1, times: Infinity };
  const h = await f.start({ mode: 'plan' });
  const r = await h.result();
  expect(r.outcome).toBe('planned');
  expect(r.plan!.errors.join('\n')).toMatch(
    new RegExp(
      `cannot read bucket ${f.bucket} \\(service \\w+\\): UnknownError \\(HTTP 403\\); check the endpoint, region and credentials`,
    ),
  );
  expect(await planAttempt(h)).toBe(1);
});

test('S3 throttling every attempt: the run ends at its plan, says it was tried 3 times, workers never touched', async () => {
  await setup();
  expect(f.service('start')).toBe(0);
  proxy.rule = { match: 'any', action: 'slowdown', every: 1, times: Infinity };
  const h = await f.start({ mode: 'execute' });
  await expect(h.result()).rejects.toThrow();
  expect(await planAttempt(h)).toBe(3);
  const ending =
    /failed: UnknownError \(HTTP 503\); S3 is throttling or failing for now\. The plan was tried 3 times; nothing was touched\. Start the reset again once S3 answers/;

  const text = await run(CLI, ['status', f.target], {
    env: { ...f.workerEnv, NO_COLOR: '1' } as Record<string, string>,
  });
  expect(text.code).toBe(1);
  expect(text.stdout).toMatch(/FAILED \/ failed/);
  expect(text.stdout).toMatch(/✖ {2}0 Plan +failed +\S+ +3 /); // tries: 3
  expect(text.stdout).toMatch(new RegExp(`FAILED: .*${ending.source}`));
  expect(text.stdout).not.toMatch(/is tried again/);

  const json = await run(CLI, ['status', f.target, '--json'], { env: f.workerEnv as Record<string, string> });
  const view = JSON.parse(json.stdout) as {
    outcome: string;
    steps: { name: string; status: string; error?: string }[];
    workers: { status: string };
    failure: string;
  };
  expect(view.outcome).toBe('failed');
  expect(view.steps.find((x) => x.name === 'plan')).toMatchObject({
    status: 'failed',
    attempts: 3,
    error: expect.stringMatching(ending),
  });
  expect(view.steps.filter((x) => x.name !== 'plan').map((x) => x.status)).toEqual(Array(7).fill('skipped'));
  expect(view.failure).toMatch(ending);
  // Never stopped: the target's own status command says they run, and the views say untouched.
  expect(view.workers.status).toBe('untouched');
  expect(f.service('status')).toBe(0);
});
