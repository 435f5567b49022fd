/**
 * `reset-runbook schedule` on the real stack (Temporal dev server, PostgreSQL, moto S3) and a real
 * worker: a schedule made on a (non-production) target resets it on its own, unattended, and its child
 * tells the target's webhook; list, describe, pause, delete; a production target's schedule is
 * refused; `schedule sync` (dry run, create, unchanged, update, delete, conflict, refused); a schedule
 * with --pause-on-failure whose run fails pauses itself, is run by hand (trigger) and unpaused; no worker: "no worker
 * answered".
 *
 *   RR_KEEP_STACK=1 RR_SKIP_CHECKS=1 scripts/test test/cli/e2e/schedule.test.ts
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import {
  cli,
  dropTarget,
  Env,
  json,
  makeTarget,
  stackEnv,
  startWorker,
  Target,
  waitFor,
  WorkerProcess,
} from '../harness';

jest.setTimeout(300_000);

const NAME = `sched${process.pid}`;
const PROD = `schedprod${process.pid}`;
const GROUP = `schedgrp${process.pid}`;
let stack: Env;
let target: Target;
let prod: Target;
let env: Env;
let worker: WorkerProcess | undefined;
let hook: http.Server;
const posts: { event: string; target: string; workflowId: string; outcome: string | null; text: string }[] = [];
let targetsFile: string;

/** The worker's targets file: both targets, the staging one with a webhook; schedule blocks as a test wants them. */
function writeTargets(blocks: { target?: object; prod?: object; group?: object }): void {
  const t = JSON.parse(fs.readFileSync(target.targetsFile, 'utf8')).targets[NAME];
  const p = JSON.parse(fs.readFileSync(prod.targetsFile, 'utf8')).targets[PROD];
  const file = {
    targets: {
      [NAME]: {
        ...t,
        notify: { webhooks: [{ urlEnv: 'RR_TEST_SCHEDULE_HOOK' }] },
        ...(blocks.target ? { schedule: blocks.target } : {}),
      },
      [PROD]: { ...p, ...(blocks.prod ? { schedule: blocks.prod } : {}) },
    },
    groups: { [GROUP]: blocks.group ? { targets: [NAME], schedule: blocks.group } : [NAME] },
  };
  fs.writeFileSync(targetsFile, JSON.stringify(file, null, 2));
}

async function setEnvironment(databaseUrl: string, value: string): Promise<void> {
  const c = new PgClient({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(`UPDATE ar_internal_metadata SET value = $1 WHERE key = 'environment'`, [value]);
  } finally {
    await c.end();
  }
}

async function describe_(name: string): Promise<{ code: number | null; body: any }> {
  const r = await cli(['schedule', 'describe', name, '--json'], env);
  return { code: r.code, body: r.code === 0 ? json(r).schedule : json(r) };
}

beforeAll(async () => {
  stack = await stackEnv();
  target = await makeTarget(stack, NAME, { approvalRequired: false });
  prod = await makeTarget(stack, PROD, { approvalRequired: false });
  // The demo database says production; a schedule may reset only what does not.
  await setEnvironment(target.databaseUrl, 'staging');
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  targetsFile = path.join(target.dir, 'fleet-targets.json');
  const port = (hook.address() as { port: number }).port;
  env = {
    ...prod.env,
    ...target.env,
    RESET_RUNBOOK_TARGETS: targetsFile,
    RR_TEST_SCHEDULE_HOOK: `http://127.0.0.1:${port}/hook`,
    RR_TASK_QUEUE: `rr-schedule-${process.pid}`,
  };
  writeTargets({});
  worker = await startWorker(env);
});

afterAll(async () => {
  for (const n of [NAME, PROD, GROUP]) await cli(['schedule', 'delete', n], env).catch(() => undefined);
  await worker?.stop();
  await new Promise((r) => hook?.close(r));
  await dropTarget(target);
  await dropTarget(prod);
});

test('create on a target: the schedule resets it on its own, unattended; its child posts to the webhook; list, describe, pause, delete', async () => {
  const c = await cli(['schedule', 'create', NAME, '--every', '30s', '--json'], env);
  expect(c.code).toBe(0);
  const made = json(c);
  expect(made).toMatchObject({
    name: NAME,
    scheduleId: `reset-schedule-${NAME}`,
    created: true,
    schedule: { source: 'cli', resets: { target: NAME }, paused: false, overlap: 'SKIP' },
  });
  expect(made.plan.workflowId).toMatch(new RegExp(`^plan-fleet-${NAME}-`));
  expect(made.schedule.nextRuns.length).toBeGreaterThan(0);

  // Made a second time: refused, the first one untouched.
  const again = await cli(['schedule', 'create', NAME, '--every', '30s'], env);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('already exists');

  const done = await waitFor(
    'a scheduled run that completed',
    async () => {
      const d = await describe_(NAME);
      return d.body.recent?.find((r: any) => r.status === 'COMPLETED');
    },
    240_000,
    3000,
  );
  expect(done).toMatchObject({
    workflowId: expect.stringMatching(new RegExp(`^scheduled-${NAME}-`)),
    outcome: 'completed',
    endReason: 'completed',
  });
  const p = await cli(['schedule', 'pause', NAME, '--note', 'checked by the e2e test'], env);
  expect(p.code).toBe(0);
  await waitFor(
    'the child’s completed notification',
    async () => posts.find((m) => m.target === NAME && m.event === 'completed'),
    30_000,
  );

  const l = await cli(['schedule', 'list', '--json'], env);
  expect(l.code).toBe(0);
  expect(json(l).schedules.find((s: any) => s.name === NAME)).toMatchObject({
    source: 'cli',
    paused: true,
    when: { every: '30s', pauseOnFailure: false },
  });
  const text = await cli(['schedule', 'describe', NAME], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('PAUSED  note: checked by the e2e test');
  expect(text.stdout).toMatch(/completed {2}scheduled-/);

  // The file wants the same name: sync reports a conflict and leaves the schedule alone.
  writeTargets({ target: { cron: '0 5 1 1 *' } });
  const s = await cli(['schedule', 'sync', '--dry-run', '--json'], env);
  expect(s.code).toBe(1);
  expect(json(s).entries).toEqual([expect.objectContaining({ kind: 'conflict', name: NAME })]);

  const del = await cli(['schedule', 'delete', NAME, '--json'], env);
  expect(del.code).toBe(0);
  expect((await describe_(NAME)).code).toBe(5);
});

test("a production target's schedule is refused before anything is made", async () => {
  const r = await cli(['schedule', 'create', PROD, '--cron', '0 5 * * *', '--json'], env);
  expect(r.code).toBe(1);
  expect(json(r)).toMatchObject({
    created: false,
    refused: [`${PROD}: would need a person: environment "production"`],
  });
  expect(r.stderr).toContain('refused');
  expect((await describe_(PROD)).code).toBe(5);
});

test('sync: dry run, create, unchanged, update, delete; the production block refused', async () => {
  writeTargets({
    target: { cron: '0 5 1 1 *' },
    prod: { cron: '0 5 * * *' },
    group: { cron: '0 6 1 1 *', timezone: 'Europe/Berlin' },
  });
  const kinds = (r: { stdout: string }) =>
    Object.fromEntries(JSON.parse(r.stdout).entries.map((e: any) => [e.name, e.kind]));

  const dry = await cli(['schedule', 'sync', '--dry-run', '--json'], env);
  expect(dry.code).toBe(1);
  expect(kinds(dry)).toEqual({ [NAME]: 'create', [PROD]: 'refused', [GROUP]: 'create' });
  expect((await describe_(NAME)).code).toBe(5);

  const s1 = await cli(['schedule', 'sync'], env);
  expect(s1.code).toBe(1);
  expect(s1.stdout).toMatch(new RegExp(`REFUSED +${PROD}`));
  expect(s1.stdout).toContain(`would need a person: environment "production"`);
  expect(s1.stdout).toContain('2 created, 0 updated, 0 deleted, 0 unchanged, 0 conflict(s), 1 refused');
  const g = await describe_(GROUP);
  expect(g.body).toMatchObject({
    source: 'targets-file',
    resets: { group: GROUP },
    when: { cron: '0 6 1 1 *', timezone: 'Europe/Berlin' },
  });

  writeTargets({
    target: { cron: '0 4 1 1 *', pauseOnFailure: true },
    group: { cron: '0 6 1 1 *', timezone: 'Europe/Berlin' },
  });
  const s2 = await cli(['schedule', 'sync', '--json'], env);
  expect(s2.code).toBe(0);
  expect(kinds(s2)).toEqual({ [NAME]: 'update', [GROUP]: 'unchanged' });
  expect((await describe_(NAME)).body).toMatchObject({
    when: { cron: '0 4 1 1 *', pauseOnFailure: true },
    pauseOnFailure: true,
  });
  const s3 = await cli(['schedule', 'sync', '--json'], env);
  expect(kinds(s3)).toEqual({ [NAME]: 'unchanged', [GROUP]: 'unchanged' });

  writeTargets({});
  const s4 = await cli(['schedule', 'sync', '--json'], env);
  expect(s4.code).toBe(0);
  expect(kinds(s4)).toEqual({ [NAME]: 'delete', [GROUP]: 'delete' });
  expect((await describe_(GROUP)).code).toBe(5);
});

test('--pause-on-failure: a run that does not complete pauses the schedule', async () => {
  fs.writeFileSync(target.failFlag, '');
  try {
    const c = await cli(['schedule', 'create', NAME, '--every', '30s', '--pause-on-failure'], env);
    expect(c.code).toBe(0);
    const d = await waitFor(
      'the schedule paused by its failed run',
      async () => {
        const x = await describe_(NAME);
        return x.body.paused && x.body.recent.some((r: any) => r.status === 'FAILED') && x.body;
      },
      240_000,
      3000,
    );
    // The child's backup failed; unattended, it is aborted rather than left waiting; the fleet fails.
    const failed = d.recent.find((r: any) => r.status === 'FAILED');
    expect(failed).toMatchObject({ outcome: 'failed', message: expect.any(String) });
    const post = await waitFor(
      'the child’s notification of how it ended',
      async () => posts.find((m) => m.target === NAME && (m.event === 'aborted' || m.event === 'failed')),
      30_000,
    );
    // The fleet ends "targetsFailed"; the child tells the webhook it was aborted, at its backup step.
    expect(failed.endReason).toBe('targetsFailed');
    expect(post).toMatchObject({
      workflowId: `reset-${NAME}`,
      event: 'aborted',
      text: expect.stringContaining('runs unattended'),
    });

    // The cause fixed, a person runs it once by hand while the schedule stays paused (trigger), then unpauses it.
    fs.rmSync(target.failFlag, { force: true });
    const t = await cli(['schedule', 'trigger', NAME], env);
    expect({ code: t.code, out: t.stdout }).toEqual({
      code: 0,
      out: expect.stringContaining(`triggered schedule ${NAME}`),
    });
    const after = await waitFor(
      'the triggered run completed',
      async () => {
        const x = await describe_(NAME);
        return x.body.recent.some((r: any) => r.status === 'COMPLETED') && x.body;
      },
      120_000,
      2000,
    );
    expect(after.paused).toBe(true);
    expect(after.recent.find((r: any) => r.status === 'COMPLETED')).toMatchObject({ outcome: 'completed' });
    const u = await cli(['schedule', 'unpause', NAME], env);
    expect(u.code).toBe(0);
    expect((await describe_(NAME)).body.paused).toBe(false);
  } finally {
    fs.rmSync(target.failFlag, { force: true });
    await cli(['schedule', 'delete', NAME], env);
  }
});

test('no worker on the task queue: "no worker answered", nothing made', async () => {
  const r = await cli(['schedule', 'create', NAME, '--every', '30s', '--plan-timeout', '3s'], {
    ...env,
    RR_TASK_QUEUE: `rr-schedule-nobody-${process.pid}`,
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('no worker answered');
  expect((await describe_(NAME)).code).toBe(5);
});
