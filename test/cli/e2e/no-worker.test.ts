/**
 * Issue 7 on the real stack: a run whose worker was SIGKILLed while it waits for approval.
 * `status` and `resume` derive the state from the run's history and say plainly that no worker is
 * polling (never "goes on by itself", never "no progress"/"mode ?"); `abort` with no worker polling
 * returns after a bounded wait (exit 3) and takes effect once a worker polls again.
 *
 *   npx jest --runInBand test/cli/e2e/no-worker.test.ts
 */
import {
  cli,
  dropTarget,
  Env,
  json,
  killWorker,
  makeTarget,
  stackEnv,
  startWorker,
  Target,
  waitFor,
  WorkerProcess,
} from '../harness';

jest.setTimeout(300_000);

const NAME = `clinw${process.pid}`;
const QUEUE = `rr-cli-nw-${process.pid}`;
let target: Target;
let env: Env;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  const stack = await stackEnv();
  target = await makeTarget(stack, NAME); // heartbeat timeout 10 s (the harness's timing)
  env = { ...target.env, RR_TASK_QUEUE: QUEUE };
  worker = await startWorker(env);
});

afterAll(async () => {
  if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null)
    worker = await startWorker(env).catch(() => undefined);
  await cli(['abort', `reset-${NAME}`, '--no-wait'], env).catch(() => undefined);
  await worker?.stop();
  await dropTarget(target);
});

test('worker SIGKILLed while the run waits for approval: status and resume tell it from the history; abort is bounded (exit 3) and takes effect when a worker is back', async () => {
  expect((await cli(['start', NAME, '--detach'], env)).code).toBe(0);
  await waitFor(
    'approval',
    async () => json(await cli(['status', NAME, '--json'], env)).phase === 'awaiting-approval',
    90_000,
  );
  // A live, idle worker re-polls only when its long poll ends (up to a minute): its last poll may be
  // older than the heartbeat timeout, but it answers the query, so it is never reported missing.
  await new Promise((r) => setTimeout(r, 15_000));
  const live = json(await cli(['status', NAME, '--json'], env));
  expect(live).toMatchObject({ phase: 'awaiting-approval', stateFrom: 'query', noWorker: null, exitCode: 3 });
  await killWorker(worker!);

  // Once the last poll is older than the target's heartbeat timeout (10 s), no worker is polling.
  const st = await waitFor(
    'status to say no worker is polling',
    async () => {
      const r = await cli(['status', NAME, '--json'], env);
      return json(r).noWorker?.recentPoll === false ? r : undefined;
    },
    60_000,
    2_000,
  );
  expect(st.code).toBe(3);
  const body = json(st);
  expect(body).toMatchObject({
    status: 'RUNNING',
    phase: 'awaiting-approval',
    stateFrom: 'history',
    currentStep: 'approval',
    target: NAME,
    noWorker: { taskQueue: QUEUE, heartbeatTimeoutSeconds: 10 },
    exitCode: 3,
  });
  expect(body.approval.database).toBe(`rr_${NAME}`);
  expect(body.steps.find((s: any) => s.name === 'backup').status).toBe('done');
  expect(body.history.lastCompleted.step).toBe('backup');

  const human = await cli(['status', NAME], env);
  expect(human.code).toBe(3);
  expect(human.stdout).toMatch(
    new RegExp(
      `no worker is polling task queue ${QUEUE} \\(last poll \\d+ s ago\\): the run continues when a worker starts`,
    ),
  );
  expect(human.stdout).toContain('RUNNING / awaiting-approval (from history)');
  expect(human.stdout).toContain(`WAITING FOR APPROVAL  of database "rr_${NAME}"`);
  expect(human.stdout).toMatch(/1 Backup the database\s+done/);
  expect(human.stdout).not.toContain('no progress');
  expect(human.stdout).not.toContain('mode ?');

  const res = await cli(['resume', NAME], env);
  expect(res.code).toBe(3);
  expect(res.stdout).toContain(`no worker is polling task queue ${QUEUE}`);
  expect(res.stdout).toContain("the run's history shows: awaiting-approval, step approval");
  expect(res.stdout).not.toContain('goes on by itself');
  const resJson = json(await cli(['resume', NAME, '--json'], env));
  expect(resJson).toMatchObject({
    action: 'none',
    reason: 'no-worker',
    phase: 'awaiting-approval',
    stateFrom: 'history',
    exitCode: 3,
  });

  // abort: answers within a bounded wait (the issue: it blocked forever after "abort sent").
  const t0 = Date.now();
  const ab = await cli(['abort', NAME, '--reason', 'e2e: no worker'], env, { timeoutMs: 60_000 });
  const took = Date.now() - t0;
  expect(ab.code).toBe(3);
  expect(ab.stdout).toContain('abort accepted');
  expect(ab.stdout).toMatch(
    new RegExp(
      `no worker is polling task queue ${QUEUE} \\(last poll \\d+ s ago\\): the abort takes effect when one does`,
    ),
  );
  expect(took).toBeLessThan(30_000); // a few seconds; generous for a loaded 2-core machine
  const abJson = json(await cli(['status', NAME, '--json'], env));
  expect(abJson.history.signals).toEqual([expect.objectContaining({ name: 'abort', seenByRun: false })]);

  // A worker comes back: the abort takes effect, the run ends aborted.
  worker = await startWorker(env);
  const ended = await waitFor(
    'the run to end',
    async () => {
      const r = await cli(['status', NAME, '--json'], env);
      return json(r).status !== 'RUNNING' ? r : undefined;
    },
    90_000,
    1_000,
  );
  expect(json(ended)).toMatchObject({ status: 'FAILED', outcome: 'aborted', exitCode: 1 });
});
