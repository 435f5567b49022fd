/**
 * The checks that stop a reset in its tracks: a backup older than the target allows, seeds that
 * still create demo data (verify says so), and the high-risk schema rebuild with its second confirmation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TargetsFile } from '../../src/config/types';
import { abortSignal, approveSignal } from '../../src/contract';
import { cli, cliAsPrinted, json, waitFor as waitUntil } from '../cli/harness';
import { approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { REPO_ROOT, temporalAddress } from '../support/temporal';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

test('a backup that turns stale while the workers stop is refused at the TRUNCATE; nothing was truncated, workers running', async () => {
  // The run takes a fresh backup before it stops the workers when the old one would be too old
  // (test/e2e/backup-freshness.test.ts); the age check at the TRUNCATE is the last guard, for a stop
  // that takes longer than the margin allowed for it: here a stop command that takes 5 s with 3 s allowed.
  f = await fixture({ target: { backup: { maxAgeMinutes: 0.05 } } });
  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8')) as TargetsFile;
  const w = file.targets[f.target].workers!;
  w.stop = `sleep 5; ${w.stop}`;
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
  expect(f.service('start')).toBe(0);
  const customers = await f.count('customers');
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('reset');
  expect(p.waiting?.error).toMatch(
    /backup of target ".*" is \d+ seconds old, more than backup\.maxAgeMinutes \(0\.05\); nothing was truncated/,
  );
  expect(p.waiting?.workersRestarted).toBe(true);
  expect(await f.count('customers')).toBe(customers);
  expect(f.service('status')).toBe(0);
  await h.signal(abortSignal, { reason: 'stale backup' });
  expect((await h.result().catch((e) => e)).cause?.type).toBe('ResetAborted');
});

test('seeds that still create demo data: verify names the table and the likely cause, and the run waits', async () => {
  const seeds = path.join(fs.mkdtempSync('/tmp/rr-seeds-'), 'seeds.sql');
  fs.writeFileSync(
    seeds,
    fs.readFileSync(path.join(REPO_ROOT, 'demo', 'db', 'seeds.sql'), 'utf8') +
      `\n-- "section 3": a demo customer\nINSERT INTO customers (full_name, national_id, created_at, updated_at) VALUES ('Demo Customer', 'DEMO-0001', now(), now());\n`,
  );
  f = await fixture({ target: { seedSqlFile: seeds } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('verify');
  expect(p.waiting?.error).toContain('Customers: 1');
  expect(p.waiting?.error).toMatch(/Customers: expected 0, found 1\. The seeds probably still create demo data/);
  expect(f.service('status')).toBe(0);
  await h.signal(abortSignal, { reason: 'fix the seeds first' });
  await h.result().catch(() => undefined);
  fs.rmSync(path.dirname(seeds), { recursive: true, force: true });
});

/**
 * Step 6 runs as a local activity (src/workflows/activities.ts): it leaves no activity events, only markers.
 * A verify that fails its tries pauses the run; `status` shows it from the run's own state and, with the worker
 * gone, from the history's markers (src/cli/history-events.ts), and both print the same recovery. Once the
 * operator has removed the demo row, that line, run exactly as printed, completes the run.
 */
test('a verify that fails: status shows it live and from history, and the printed resume completes the run', async () => {
  const seeds = path.join(fs.mkdtempSync('/tmp/rr-seeds-'), 'seeds.sql');
  fs.writeFileSync(
    seeds,
    fs.readFileSync(path.join(REPO_ROOT, 'demo', 'db', 'seeds.sql'), 'utf8') +
      `\nINSERT INTO customers (full_name, national_id, created_at, updated_at) VALUES ('Demo Customer', 'DEMO-0001', now(), now());\n`,
  );
  try {
    f = await fixture({ target: { seedSqlFile: seeds } });
    expect(f.service('start')).toBe(0);
    const worker = await f.startWorker();
    const h = await f.start({ mode: 'execute' });
    await approveWhenAsked(h, f.dbName);
    const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
    expect(p.waiting?.step).toBe('verify');
    // A count that does not match is not retried by the workflow: the operator decides.
    const tries = p.steps.find((x) => x.name === 'verify')!.attempts;
    expect(tries).toBe(1);

    const env = { TEMPORAL_ADDRESS: temporalAddress(), RR_TASK_QUEUE: f.taskQueue, NO_COLOR: '1' };
    const resumeLine = `retry the step: reset-runbook resume ${h.workflowId}`;
    const live = await cli(['status', f.target], env);
    expect(live.code).toBe(3);
    expect(live.stdout).toContain('PAUSED at step "verify"');
    expect(live.stdout).toContain('Customers: expected 0, found 1');
    expect(live.stdout).toContain(resumeLine);

    // The worker gone, the same facts come from the history's local-activity markers.
    await worker.kill('SIGKILL');
    // The server gives up on a dead worker's query after a few seconds.
    const fromHistory = await waitUntil('status to read the run from its history', async () => {
      const r = await cli(['status', f.target, '--json'], env);
      return json(r).stateFrom === 'history' ? r : undefined;
    });
    expect(fromHistory.code).toBe(3);
    const body = json(fromHistory);
    expect(body).toMatchObject({ phase: 'waiting-for-operator', currentStep: 'verify' });
    const verify = body.steps.find((x: { name: string }) => x.name === 'verify');
    expect(verify).toMatchObject({ status: 'waiting-for-operator', attempts: tries });
    expect(verify.error).toContain('Customers: expected 0, found 1');
    expect(body.steps.find((x: { name: string }) => x.name === 'reset').status).toBe('done');
    const human = await cli(['status', f.target], env);
    expect(human.stdout).toContain('(from history)');
    expect(human.stdout).toContain('PAUSED at step "verify"');
    expect(human.stdout).toContain('Customers: expected 0, found 1');
    const printed = /retry the step: (reset-runbook resume \S+)/.exec(human.stdout)?.[1];
    expect(printed).toBe(`reset-runbook resume ${h.workflowId}`);

    // The operator removes the demo row and runs the printed line, with a worker back.
    await f.sql(`DELETE FROM customers WHERE national_id = 'DEMO-0001'`);
    await f.startWorker();
    const resumed = await cliAsPrinted(printed!, env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('retrying step "verify"');
    const r = await h.result();
    expect(r.outcome).toBe('completed');
    expect(r.verify?.ok).toBe(true);
    expect(f.service('status')).toBe(0);
  } finally {
    fs.rmSync(path.dirname(seeds), { recursive: true, force: true });
  }
});

test('the rebuild strategy runs its command only after the second, distinct confirmation', async () => {
  // What `bin/rails db:reset` does for the demo: drop and recreate the schema, then the seeds.
  const rebuild = [path.join(REPO_ROOT, 'scripts', 'demo-db'), 'load', '--fresh', '--schema-only'];
  f = await fixture({ target: { rebuildCommand: rebuild } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const plan = (await (await f.start({ mode: 'plan' })).result()).plan!;
  expect(plan.highRisk).toBe(true);
  expect(plan.warnings.join('\n')).toMatch(/HIGH RISK: strategy "rebuild" runs .*demo-db load --fresh --schema-only/);

  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const rejected = await waitFor(h, (p) => /REBUILD/.test(p.steps.find((s) => s.name === 'approval')?.error ?? ''));
  expect(rejected.phase).toBe('awaiting-approval');
  expect(await f.count('customers')).toBeGreaterThan(0);
  await h.signal(approveSignal, { confirmation: f.dbName, highRiskConfirmation: `REBUILD ${f.dbName}` });
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  expect(r.verify?.report).toBe(
    ['Users: 6', 'Phone Models: 10', 'System Settings: 1', 'Customers: 0', 'Loans: 0', 'Queue Jobs: 0'].join('\n'),
  );
  expect(f.service('status')).toBe(0);
});
