/**
 * Fleet resets on the real stack (issue 16): one worker process, real demo databases, the stand-in
 * Solid Queue service of every target stopped and started by its own commands, S3 objects on half
 * the targets.
 *
 * - Ten targets, three whose backup cannot run (their pg_dump is missing: the child pauses for an
 *   operator before anything is touched, and the operator aborts it with `reset-runbook abort`),
 *   maxFailures 2, one at a time: the third failure (the sixth target) stops the fleet, the four
 *   after it never start, and every target ends as it should: reset to the seeds, or as it was.
 * - An abort of the fleet while two children run: both end aborted with their workers started
 *   again, and no child starts after it.
 */
import { cli } from '../cli/harness';
import { resetWorkflowId, fleetAbortSignal, fleetWorkflowId, type FleetProgress } from '../../src/contract';
import { fleetFixture, type FleetFixture } from '../support/fleet-fixture';

jest.setTimeout(240_000);

let f: FleetFixture | undefined;
afterEach(async () => {
  await f?.cleanup();
  f = undefined;
});

async function waitUntilAsync(ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function waitUntil(ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 250));
  }
}

const VERIFIED = 'Users: 6, Phone Models: 10, System Settings: 1, Customers: 0, Loans: 0, Queue Jobs: 0';

test('ten targets, three failing, maxFailures 2, one at a time: the threshold stops the fleet midway and every target ends as it should', async () => {
  const FAILING = [1, 3, 5];
  f = await fleetFixture({
    targets: 10,
    member: (i) => ({ storage: i % 2 === 0, workers: true, failingBackup: FAILING.includes(i) }),
  });
  const fx = f;
  const before = new Map<string, Record<string, number>>();
  const objectsBefore = new Map<string, Map<string, number>>();
  for (const m of fx.members) {
    before.set(m.fx.target, await fx.counts(m));
    if (m.opts.storage) objectsBefore.set(m.fx.target, await m.fx.objects());
  }
  const seeds = await fx.seedCounts();
  await fx.startWorker('host-a');

  // As an operator runs it: `reset-runbook fleet start`, which shows the plan and asks for the fleet's
  // name and the number of databases (typed on stdin), then follows the fleet to its ending table.
  const started0 = cli(
    ['fleet', 'start', fx.name, '--group', fx.group, '--max-concurrent', '1', '--max-failures', '2'],
    { RR_TASK_QUEUE: fx.taskQueue, NO_COLOR: '1' },
    { input: `${fx.name}\n10\n`, timeoutMs: 220_000 },
  );
  const h = fx.client.workflow.getHandle(fleetWorkflowId(fx.name));
  await waitUntilAsync(
    async () =>
      await h.describe().then(
        () => true,
        () => false,
      ),
  );
  // One approval for the fleet: its name and the number of databases the plan counted.
  const asked = await fx.waitFor(h, (p) => p.phase === 'awaiting-approval' || p.phase === 'running');
  expect(asked.limits).toMatchObject({ targets: 10, databases: 10, maxConcurrent: 1, maxFailures: 2 });

  // The operator: a child that waits after its failed step is aborted with the real CLI, as a person would.
  const aborted = new Set<string>();
  let done = false;
  const ending = fx.ending(h).finally(() => (done = true));
  while (!done) {
    const p = await fx.progress(h);
    for (const t of p?.targets ?? []) {
      if (t.status !== 'waiting-for-operator' || aborted.has(t.target)) continue;
      aborted.add(t.target);
      const r = await cli(
        ['abort', resetWorkflowId(t.target), '--reason', 'its backup cannot run', '--wait', '60s'],
        {},
      );
      expect({ code: r.code, out: r.stdout }).toEqual({ code: 0, out: expect.stringContaining('abort accepted') });
    }
    await Promise.race([ending, new Promise((r) => setTimeout(r, 250))]);
  }
  const { result, failed } = await ending;
  const printed = await started0;

  const failing = FAILING.map((i) => fx.targets[i]);
  const started = fx.targets.slice(0, 6);
  const notStarted = fx.targets.slice(6);
  expect(failed).toBe(true);
  expect(result).toMatchObject({ outcome: 'failed', endReason: 'failureThreshold' });
  expect(result.message).toContain('failure threshold reached (3 failed or waiting, 2 allowed)');
  expect([...aborted].sort()).toEqual([...failing].sort());
  // The ending lists every target, in the group's order; the failed ones never stopped their workers.
  expect(result.targets.map((t) => t.target)).toEqual(fx.targets);
  for (const t of result.targets) {
    if (failing.includes(t.target))
      expect(t).toMatchObject({ status: 'aborted', outcome: 'aborted', endReason: 'aborted', workers: 'untouched' });
    else if (started.includes(t.target))
      expect(t).toMatchObject({ status: 'completed', outcome: 'completed', detail: VERIFIED, workers: 'running' });
    else
      expect(t).toMatchObject({
        status: 'not-started',
        endReason: 'notStarted',
        detail: expect.stringContaining('failure threshold reached'),
      });
  }
  expect(result.totals).toMatchObject({
    targets: 10,
    completed: 3,
    failed: 0,
    aborted: 3,
    notStarted: 4,
    running: 0,
    waiting: 0,
    workersStillStopped: 0,
  });

  // Exactly the first six children exist on the server; the four after the threshold were never started.
  expect(await fx.childrenStarted()).toEqual(started);
  for (const t of notStarted) expect(result.targets.find((x) => x.target === t)!.runId).toBeUndefined();

  // Every database: the seeds where the reset completed, untouched elsewhere; objects likewise.
  for (const m of fx.members) {
    const t = m.fx.target;
    const completed = started.includes(t) && !failing.includes(t);
    expect({ t, counts: await fx.counts(m) }).toEqual({ t, counts: completed ? seeds : before.get(t) });
    if (!m.opts.storage) continue;
    const objects = await m.fx.objects();
    if (completed) expect(objects.size).toBe(m.fx.report.objects!.orphan);
    else expect(objects).toEqual(objectsBefore.get(t));
  }
  // Every target's Solid Queue workers run at the end.
  for (const m of fx.members)
    expect({ t: m.fx.target, status: m.fx.service('status') }).toEqual({ t: m.fx.target, status: 0 });

  // The CLI's ending: exit 1, the threshold named, and a table line with every target's outcome.
  expect(printed.code).toBe(1);
  // The prompt (on stderr, as every prompt of the CLI) showed how many databases the fleet resets.
  expect(printed.stderr).toContain('This fleet resets 10 databases (10 targets).');
  expect(printed.stdout).toContain(`Fleet "${fx.name}": failed (failureThreshold)`);
  const table = printed.stdout.slice(printed.stdout.lastIndexOf(`Fleet "${fx.name}": failed`));
  for (const t of fx.targets) {
    const outcome = failing.includes(t) ? 'aborted' : started.includes(t) ? 'completed' : 'not-started';
    expect(table).toMatch(new RegExp(`\\s${t}\\s+${outcome}\\s`));
  }
  expect(table).toContain('3 completed');
});

test('an abort of the fleet while two children run: both end aborted with their workers started again, and none starts after', async () => {
  // A stop command that lingers after the workers stopped keeps each child in its stop step, workers stopped and
  // nothing else touched, long enough to be aborted there.
  f = await fleetFixture({
    targets: 4,
    member: (i) => ({
      storage: i === 0,
      workers: true,
      edit: (t) => {
        t.workers!.stop = `${t.workers!.stop} && sleep 30`;
      },
    }),
  });
  const fx = f;
  const before = new Map<string, Record<string, number>>();
  for (const m of fx.members) before.set(m.fx.target, await fx.counts(m));
  await fx.startWorker('host-a');

  const h = await fx.start({ mode: 'execute', maxConcurrent: 2, confirmation: fx.name, databases: 4 });
  const running = (p: FleetProgress) => p.targets.filter((t) => t.status === 'running' && t.step === 'stopWorkers');
  const seen = await fx.waitFor(h, (p) => running(p).length === 2);
  expect(running(seen).map((t) => t.target)).toEqual(fx.targets.slice(0, 2));
  // Their workers are stopped now (the stop command is past its stop, in its sleep): the abort must start them again.
  for (const m of fx.members.slice(0, 2)) await waitUntil(() => m.fx.service('status') === 3);
  await h.signal(fleetAbortSignal, { by: 'jest', reason: 'maintenance window closed' });

  const { result, failed } = await fx.ending(h);
  expect(failed).toBe(true);
  expect(result).toMatchObject({ outcome: 'aborted', endReason: 'aborted' });
  expect(result.message).toContain('aborted by jest: maintenance window closed');
  expect(result.targets.map((t) => t.target)).toEqual(fx.targets);
  for (const t of result.targets.slice(0, 2))
    expect(t).toMatchObject({ status: 'aborted', outcome: 'aborted', workers: 'running' });
  for (const t of result.targets.slice(2)) expect(t).toMatchObject({ status: 'not-started', endReason: 'notStarted' });
  expect(await fx.childrenStarted()).toEqual(fx.targets.slice(0, 2));

  for (const m of fx.members) {
    // Aborted before their reset, or never started: every database as it was.
    expect({ t: m.fx.target, counts: await fx.counts(m) }).toEqual({ t: m.fx.target, counts: before.get(m.fx.target) });
    expect({ t: m.fx.target, status: m.fx.service('status') }).toEqual({ t: m.fx.target, status: 0 });
  }
});
