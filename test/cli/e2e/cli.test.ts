/**
 * Every CLI command against the real stack (scripts/stack: Temporal dev server, PostgreSQL, moto S3)
 * and a real worker process: --json shapes and exit codes, a whole reset, a pause and its resume,
 * a worker that died, an abort, Ctrl-C detaching from follow.
 *
 *   npx jest --runInBand test/cli/e2e
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { cut, Transcript, upTo } from '../../support/transcripts';
import {
  CLI,
  cli,
  countRows,
  dropTarget,
  Env,
  json,
  jsonLines,
  killWorker,
  makeTarget,
  reloadTarget,
  REPO,
  stackEnv,
  startWorker,
  Target,
  waitFor,
  WorkerProcess,
} from '../harness';

jest.setTimeout(300_000);

const NAME = `clie2e${process.pid}`;
let stack: Env;
let target: Target;
let env: Env;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  stack = await stackEnv();
  target = await makeTarget(stack, NAME);
  // A task queue of this file's own: no other test's worker takes its runs, none counts as "live".
  env = { ...target.env, RR_TASK_QUEUE: `rr-cli-${process.pid}` };
  worker = await startWorker(env);
});

afterAll(async () => {
  await worker?.stop();
  // A run left waiting by a failed test must not hold the target's workflow id.
  await cli(['abort', `reset-${NAME}`, '--no-wait'], env).catch(() => undefined);
  await dropTarget(target);
});

/** The names the operator guide's transcripts use for this file's target, queue and operator. */
const transcript = () => new Transcript({ [NAME]: 'demo', [`rr-cli-${process.pid}`]: 'reset-runbook' });
const FAILURES = 'docs/operators/failure-cases.md';

async function statusOf(run: string): Promise<{ code: number | null; body: any }> {
  const r = await cli(['status', run, '--json'], env);
  return { code: r.code, body: json(r) };
}

describe('usage and connection errors', () => {
  test('unknown command, missing argument and bad option exit 2; --json gives {error, exitCode}', async () => {
    const a = await cli(['frobnicate'], env);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('unknown command "frobnicate"');
    const b = await cli(['plan', '--json'], env);
    expect(b.code).toBe(2);
    expect(json(b)).toEqual({ error: 'plan: missing <target>', hint: expect.any(String), exitCode: 2 });
    const c = await cli(['status', 'x', '--bogus'], env);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/bogus/);
    const h = await cli(['start', '--help'], env);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--confirm <database>');
  });

  test('an unreachable server exits 6 and names the address', async () => {
    const r = await cli(['list', '--json'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(6);
    expect(json(r).error).toContain('127.0.0.1:1');
  });

  test('a run that does not exist exits 5', async () => {
    const r = await cli(['status', 'reset-no-such-target-here', '--json'], env);
    expect(r.code).toBe(5);
  });
});

describe('plan', () => {
  test('plan --json: the plan object, exit 0; the human form prints the tables', async () => {
    const r = await cli(['plan', NAME, '--json'], env);
    expect(r.code).toBe(0);
    const body = json(r);
    expect(body).toMatchObject({
      workflowId: expect.stringMatching(new RegExp(`^plan-${NAME}-`)),
      runId: expect.any(String),
      target: NAME,
      status: 'COMPLETED',
      outcome: 'planned',
      exitCode: 0,
    });
    expect(body.plan.databaseName).toBe(`rr_${NAME}`);
    expect(body.plan.tables.find((t: any) => t.table === 'customers')).toMatchObject({ action: 'truncate', rows: 20 });
    expect(body.plan.tables.find((t: any) => t.table === 'schema_migrations')).toMatchObject({ action: 'keep' });
    expect(body.plan.objectsToDelete.count).toBeGreaterThan(0);

    const h = await cli(['plan', NAME], env);
    expect(h.code).toBe(0);
    for (const s of ['Tables emptied', 'Tables kept', 'customers', 'objects to delete', 'workers alive', 'Warnings'])
      expect(h.stdout).toContain(s);
    // A plan changes nothing.
    expect(await countRows(target.databaseUrl, 'customers')).toBe(20);
  });

  test('plan of an unknown target is refused with exit 5, naming the target', async () => {
    const r = await cli(['plan', 'no-such-target', '--json'], env);
    expect(r.code).toBe(5);
    expect(json(r).status).toBe('FAILED');
    expect(String(json(r).message)).toMatch(/no-such-target/);
    const h = await cli(['plan', 'no-such-target'], env);
    expect(h.code).toBe(5);
    transcript().add(['plan', 'no-such-target'], h).check(FAILURES, 'plan-unknown-target');
  });

  test('start of an unknown target is refused with exit 5, naming the target and the targets file', async () => {
    const r = await cli(['start', 'no-such-target', '--confirm', 'anything'], env);
    expect(r.code).toBe(5);
    const refusal = r.stderr + r.stdout;
    expect(refusal).toContain('refused: Target "no-such-target" is not in the worker\'s targets file');
    expect(refusal).toContain(env.RESET_RUNBOOK_TARGETS!);
    expect(refusal).toContain(`(it has: ${NAME})`);
    // --json: the last object says so too, and the run is closed (nothing waits, nothing was touched).
    const j = await cli(['start', 'no-such-target', '--json'], env);
    expect(j.code).toBe(5);
    const end = jsonLines(j).pop();
    expect(end).toMatchObject({ type: 'result', workflowId: 'reset-no-such-target', status: 'FAILED', exitCode: 5 });
    expect(String(end.failure)).toContain(env.RESET_RUNBOOK_TARGETS!);
  });
});

describe('a whole reset: start --detach, follow, approve, status, list', () => {
  test('start --detach, wait for approval (exit 3), wrong name keeps it waiting, approve, follow to the end', async () => {
    const s = await cli(['start', NAME, '--detach', '--json', '--reason', 'e2e'], env);
    expect(s.code).toBe(0);
    expect(json(s)).toEqual({
      workflowId: `reset-${NAME}`,
      runId: expect.any(String),
      target: NAME,
      status: 'RUNNING',
    });

    const f = await cli(['follow', NAME, '--exit-on-wait', '--json'], env);
    expect(f.code).toBe(3);
    const lines = jsonLines(f);
    const last = lines[lines.length - 1];
    expect(last).toMatchObject({
      type: 'progress',
      workflowId: `reset-${NAME}`,
      status: 'RUNNING',
      phase: 'awaiting-approval',
      exitCode: 3,
    });
    expect(last.approval.database).toBe(`rr_${NAME}`);
    expect(last.steps.map((x: any) => x.name)).toEqual([
      'plan',
      'backup',
      'approval',
      'stopWorkers',
      'reset',
      'purgeStorage',
      'startWorkers',
      'verify',
    ]);

    const st = await statusOf(`reset-${NAME}`);
    expect(st.code).toBe(3);
    expect(st.body).toMatchObject({
      phase: 'awaiting-approval',
      currentStep: 'backup',
      target: NAME,
      pollers: { workflowPollers: expect.any(Number) },
    });

    const wrong = await cli(['approve', `reset-${NAME}`, '--confirm', 'not-the-db', '--json'], env);
    expect(wrong.code).toBe(3);
    expect(json(wrong)).toMatchObject({ signal: null, phase: 'awaiting-approval' });

    const ok = await cli(['approve', `reset-${NAME}`, '--confirm', `rr_${NAME}`, '--json'], env);
    expect(ok.code).toBe(0);
    expect(json(ok)).toMatchObject({ signal: 'approve', taken: true, exitCode: 0 });

    const done = await cli(['follow', `reset-${NAME}`, '--json'], env);
    expect(done.code).toBe(0);
    const end = jsonLines(done).pop();
    expect(end).toMatchObject({ status: 'COMPLETED', outcome: 'completed', exitCode: 0 });
    expect(end.result.verify.ok).toBe(true);
    expect(await countRows(target.databaseUrl, 'customers')).toBe(0);
    expect(await countRows(target.databaseUrl, 'users')).toBe(6);

    const st2 = await statusOf(`reset-${NAME}`);
    expect(st2.code).toBe(0);
    expect(st2.body).toMatchObject({ status: 'COMPLETED', outcome: 'completed', result: { outcome: 'completed' } });

    const human = await cli(['status', NAME], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/6 Verify\s+done/);
    expect(human.stdout).toContain('Reset of "' + NAME + '": completed');
  });

  test('start asks for the database name (piped on stdin), follows the run to the end', async () => {
    const r = await cli(['start', NAME], env, { input: `rr_${NAME}\n` });
    expect(r.stderr).toContain(`Type the database name (rr_${NAME})`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Reset of "${NAME}": completed`);
    expect(r.stdout).toMatch(/Verify: OK/);
  });

  test('start without a name on stdin leaves the run waiting (exit 3); a second start is refused (exit 1)', async () => {
    const r = await cli(['start', NAME], env, { input: '' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('not approved; the run keeps waiting');
    const again = await cli(['start', NAME, '--detach'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already running');
    const a = await cli(['abort', NAME, '--json', '--reason', 'e2e cleanup'], env);
    expect(a.code).toBe(0);
    expect(json(a)).toMatchObject({ signal: 'abort', status: 'FAILED', outcome: 'aborted', exitCode: 0 });
  });

  test('list [target] --json: the runs with kind, status and outcome, newest first', async () => {
    const r = await cli(['list', NAME, '--json'], env);
    expect(r.code).toBe(0);
    const { runs } = json(r);
    const resets = runs.filter((x: any) => x.kind === 'reset');
    expect(resets.map((x: any) => x.outcome)).toEqual(['aborted', 'completed', 'completed']);
    expect(runs.some((x: any) => x.kind === 'plan' && x.outcome === 'planned')).toBe(true);
    expect(runs.every((x: any) => x.target === NAME || x.target === undefined)).toBe(true);
    const times = runs.map((x: any) => x.startTime);
    expect([...times].sort().reverse()).toEqual(times);
    const h = await cli(['list', NAME], env);
    expect(h.stdout).toMatch(new RegExp(`reset-${NAME}\\s+reset\\s+FAILED\\s+aborted`));
  });
});

describe('pauses: a failing step, resume; a dead worker', () => {
  test('a step that fails its retries pauses the run (exit 3); resume re-runs it (exit 0)', async () => {
    // The tests before this one reset the data: the transcript shows the plan of the full demo.
    await reloadTarget(stack, target);
    fs.writeFileSync(target.failFlag, 'x');
    const s = await cli(['start', NAME, '--confirm', `rr_${NAME}`, '--exit-on-wait'], env);
    expect(s.code).toBe(3);
    expect(s.stdout).toContain('PAUSED at step "backup"');
    const st = await statusOf(NAME);
    expect(st.code).toBe(3);
    expect(st.body.phase).toBe('waiting-for-operator');
    expect(st.body.waiting).toMatchObject({ step: 'backup', signals: ['retry', 'abort'] });
    expect(st.body.waiting.error).toContain('simulated failure');

    const human = await cli(['status', NAME], env);
    expect(human.code).toBe(3);
    // A resume while the cause is still there: the step fails again and the run pauses again.
    const r = await cli(['resume', NAME, '--json'], env);
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ action: 'retry', step: 'backup', exitCode: 0 });
    await waitFor(
      'the second pause',
      async () => {
        const b = (await statusOf(NAME)).body;
        return b.phase === 'waiting-for-operator' && b.steps.find((x: any) => x.name === 'backup')?.attempts === 2;
      },
      60_000,
    );
    fs.rmSync(target.failFlag);
    const again = await cli(['resume', NAME], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('retrying step "backup"');
    transcript()
      .add(['start', NAME, '--confirm', `rr_${NAME}`, '--exit-on-wait'], s)
      .add(['status', NAME], human, { trim: cut(/^ {2}⏸/, /^\s*$/, 'the steps after it, pending') })
      .check(FAILURES, 'paused-start');
    // --confirm was given to start, but start has returned; approve the waiting run now.
    await waitFor('approval', async () => (await statusOf(NAME)).body.phase === 'awaiting-approval', 60_000);
    const ap = await cli(['approve', NAME, '--confirm', `rr_${NAME}`], env);
    expect(ap.code).toBe(0);
    const f = await cli(['follow', NAME], env);
    expect(f.code).toBe(0);
    expect(f.stdout).toContain('1 Backup the database: done');
    // The phase resume reports is what the run does half a second after the signal: the retried backup may
    // have finished (awaiting-approval) or not (running). Both are right; the page shows the first.
    const resumed = { ...again, stdout: again.stdout.replace('; now running.', '; now awaiting-approval.') };
    expect(again.stdout).toMatch(/; now (running|awaiting-approval)\./);
    transcript()
      .add(['resume', NAME], resumed)
      .add(['follow', NAME], f, { trim: upTo(/^Reset of /, 'the summary and the verify report') })
      .check(FAILURES, 'paused-resume');
  });

  test('resume on a run whose worker died says no worker polls (exit 3); with a worker back it goes on', async () => {
    const s = await cli(['start', NAME, '--detach'], env);
    expect(s.code).toBe(0);
    await waitFor('approval', async () => (await statusOf(NAME)).body.phase === 'awaiting-approval', 60_000);
    await killWorker(worker!);
    // The server lists a dead poller until its last poll is older than a long poll can be.
    const gone = await waitFor(
      'the dead worker to stop counting',
      async () => {
        const r = await cli(['resume', NAME, '--json'], env);
        return r.code === 3 && json(r).reason === 'no-worker' ? r : undefined;
      },
      150_000,
      5_000,
    );
    expect(json(gone)).toMatchObject({
      action: 'none',
      reason: 'no-worker',
      stateFrom: 'history',
      phase: 'awaiting-approval',
      noWorker: { taskQueue: `rr-cli-${process.pid}` },
      exitCode: 3,
    });
    const human = await cli(['resume', NAME], env);
    expect(human.code).toBe(3);
    expect(human.stdout).toMatch(
      new RegExp(
        `no worker (is polling|answered the progress query, though a worker polled) task queue rr-cli-${process.pid}`,
      ),
    );
    expect(human.stdout).not.toContain('goes on by itself');
    expect((await statusOf(NAME)).code).toBe(3);

    worker = await startWorker(env);
    const back = await cli(['resume', NAME, '--json'], env);
    expect(back.code).toBe(3); // live worker, but the run waits for approval (not a retry)
    expect(json(back)).toMatchObject({ reason: 'awaiting-approval' });
    expect(json(back).pollers.workflowPollers).toBeGreaterThan(0);
  });

  test('Ctrl-C in follow detaches (exit 3 while waiting) and never cancels the run', async () => {
    const child = spawn(CLI, ['follow', NAME], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve);
      const t = setInterval(() => {
        if (out.includes('WAITING FOR APPROVAL')) {
          clearInterval(t);
          child.kill('SIGINT');
        }
      }, 100);
    });
    expect(code).toBe(3);
    expect(err).toContain('detached');
    const st = await statusOf(NAME);
    expect(st.body).toMatchObject({ status: 'RUNNING', phase: 'awaiting-approval' });
    const a = await cli(['abort', NAME, '--json'], env);
    expect(json(a)).toMatchObject({ outcome: 'aborted', exitCode: 0 });
    const ended = await cli(['abort', NAME], env);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain('has ended');
  });
});
