/**
 * The plan warns before anything is touched (issue 7, item 6): materialized views over truncated
 * tables (refreshed after the seeds unless configured off), live Solid Queue with no workers
 * configured, no live worker before the reset, and a queue no process ever registered in.
 * Real Temporal, PostgreSQL, the stand-in Solid Queue service and worker processes.
 */
import type { DemoTargetOptions } from '../../demo/target';
import type { Plan } from '../../src/contract';
import { approveAndFinish } from '../support/drive';
import { fixture, type ResetFixture, type WorkerProcess } from '../support/fixture';

let f: ResetFixture;
let worker: WorkerProcess | undefined;
afterEach(async () => {
  worker = undefined;
  await f?.cleanup();
});

/** A plan run under a targets file written with `over` (the worker reads the file when it starts). */
async function planWith(over: Partial<DemoTargetOptions> = {}): Promise<Plan> {
  await worker?.kill('SIGTERM');
  f.writeTargets(over);
  worker = await f.startWorker();
  const r = await (await f.start({ mode: 'plan' })).result();
  expect(r.plan!.errors).toEqual([]);
  return r.plan!;
}

// An extra user, so that old and seeded rows differ in number as well as in content.
const VIEWS = `
  INSERT INTO users (email_address, password_digest, name, created_at, updated_at) VALUES ('left-over@example.com', 'x', 'Left Over', now(), now());
  CREATE VIEW active_loans AS SELECT * FROM loans;
  CREATE MATERIALIZED VIEW loan_count AS SELECT count(*) AS n FROM active_loans;
  CREATE MATERIALIZED VIEW user_emails AS SELECT id, email_address FROM users;
  CREATE MATERIALIZED VIEW user_email_count AS SELECT count(*) AS n FROM user_emails;
  CREATE MATERIALIZED VIEW migration_versions AS SELECT version FROM schema_migrations;`;

async function viewCounts() {
  return {
    userEmails: await f.count('user_emails'),
    userEmailCount: Number((await f.sql<{ n: string }>('SELECT n FROM user_email_count'))[0].n),
    loanCount: Number((await f.sql<{ n: string }>('SELECT n FROM loan_count'))[0].n),
  };
}

test('materialized views over truncated tables are listed in refresh order, and after a reset hold the new rows', async () => {
  f = await fixture();
  await f.sql(VIEWS);
  const before = await viewCounts();
  expect(before.loanCount).toBeGreaterThan(0);
  expect(before.userEmails).toBeGreaterThan(6);
  expect(f.service('start')).toBe(0);

  const plan = await planWith();
  const mv = plan.materializedViews!;
  // Over kept tables only: not listed. Through a plain view and through another materialized view: listed.
  expect(mv.map((m) => m.name)).toEqual(['public.loan_count', 'public.user_emails', 'public.user_email_count']);
  expect(mv.find((m) => m.name === 'public.loan_count')).toMatchObject({
    dependsOn: ['public.loans'],
    rows: 1,
    refresh: true,
  });
  expect(mv.find((m) => m.name === 'public.user_email_count')).toMatchObject({
    dependsOn: ['public.users'],
    refresh: true,
  });
  const warnings = plan.warnings.join('\n');
  expect(warnings).toMatch(
    /materialized view public\.user_emails \(database "primary", \d+ rows\) reads truncated table\(s\) public\.users: the reset refreshes it after the seeds/,
  );
  expect(warnings).not.toMatch(/migration_versions/);

  const r = await approveAndFinish(await f.start({ mode: 'execute' }), f.dbName);
  expect(r.outcome).toBe('completed');
  // The seeded users, not the old ones, and the view over the view agrees.
  expect(await viewCounts()).toEqual({ userEmails: 6, userEmailCount: 6, loanCount: 0 });
  const stale = await f.sql(`SELECT email_address FROM user_emails EXCEPT SELECT email_address FROM users`);
  expect(stale).toEqual([]);
});

test('with database.refreshMaterializedViews false the plan says the views keep their old rows, and they do', async () => {
  f = await fixture({ target: { refreshMaterializedViews: false } });
  await f.sql(VIEWS);
  const before = await viewCounts();
  expect(f.service('start')).toBe(0);

  const plan = await planWith();
  expect(plan.materializedViews!.every((m) => !m.refresh)).toBe(true);
  expect(plan.warnings.join('\n')).toContain(
    `materialized view public.user_emails (database "primary", ${before.userEmails} rows) reads truncated table(s) public.users: it keeps its ${before.userEmails} old rows after the reset, because database.refreshMaterializedViews is false`,
  );

  const r = await approveAndFinish(await f.start({ mode: 'execute' }), f.dbName);
  expect(r.outcome).toBe('completed');
  expect(await f.count('users')).toBe(6);
  expect(await viewCounts()).toEqual(before);
});

const NONE_ALIVE_START =
  /no Solid Queue process is alive before the reset, yet the run will start the workers at the end with ".*solid-queue-service start" \(workers\.whenNoneAliveBefore: "start"/;
const NONE_ALIVE_LEAVE =
  /no Solid Queue process is alive before the reset: the workers will be left stopped at the end, as they were \(workers\.whenNoneAliveBefore: "leave"\)/;
const ALIVE_UNMANAGED =
  /\d+ Solid Queue process\(es\) are alive in database "primary" .* but this target configures no workers/;
const NEVER_REGISTERED =
  /no Solid Queue process has ever registered in database "primary" \(solid_queue_processes is empty and its id sequence was never used\): ".*solid-queue-service start" cannot be expected to bring heartbeats back/;

test('each workers warning appears for its own setup and not otherwise', async () => {
  f = await fixture();
  const text = (p: Plan) => p.warnings.join('\n');
  const none = [NONE_ALIVE_START, NONE_ALIVE_LEAVE, ALIVE_UNMANAGED, NEVER_REGISTERED];
  const only = (p: Plan, ...expected: RegExp[]) => {
    for (const re of none) {
      if (expected.includes(re)) expect(text(p)).toMatch(re);
      else expect(text(p)).not.toMatch(re);
    }
  };

  // Workers alive and configured: nothing to say, and they are started at the end as always.
  expect(f.service('start')).toBe(0);
  let p = await planWith();
  only(p);
  expect(p.settings).toMatchObject({
    startWorkersAtEnd: true,
    restartBudgetSeconds: 300,
    startCommand: expect.stringMatching(/solid-queue-service start$/),
  });
  p = await planWith({ whenNoneAliveBefore: 'leave' });
  only(p);
  expect(p.settings.startWorkersAtEnd).toBe(true);

  // Alive, but this target does not manage them.
  p = await planWith({ noWorkers: true });
  only(p, ALIVE_UNMANAGED);
  expect(p.workersAlive).toBeGreaterThan(0);

  // None alive before the reset: the default starts them at the end; "leave" leaves them stopped.
  expect(f.service('stop')).toBe(0);
  p = await planWith();
  only(p, NONE_ALIVE_START);
  expect(p.settings.startWorkersAtEnd).toBe(true);
  p = await planWith({ whenNoneAliveBefore: 'leave' });
  only(p, NONE_ALIVE_LEAVE);
  expect(p.settings.startWorkersAtEnd).toBe(false);
  p = await planWith({ noWorkers: true });
  only(p);

  // Queue tables that no process ever wrote to: the start command cannot be expected to bring heartbeats back.
  await f.sql('TRUNCATE solid_queue_processes, solid_queue_claimed_executions RESTART IDENTITY');
  p = await planWith();
  only(p, NONE_ALIVE_START, NEVER_REGISTERED);
  // Once a process has run (and deregistered: the table is empty again), the sequence is the evidence.
  expect(f.service('start')).toBe(0);
  expect(f.service('stop')).toBe(0);
  expect(await f.count('solid_queue_processes')).toBe(0);
  p = await planWith();
  only(p, NONE_ALIVE_START);
});
