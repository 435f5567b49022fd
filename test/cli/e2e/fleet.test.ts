/**
 * The fleet verbs against the real stack (scripts/stack) and a real worker: three small demo targets,
 * each its own database, in a group of the targets file; fleet plan, a fleet started with its
 * confirmation in advance, one approved at the prompt (stdin), status --json, abort, list.
 *
 *   RR_KEEP_STACK=1 scripts/test test/cli/e2e/fleet.test.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import {
  cli,
  countRows,
  dropTarget,
  Env,
  json,
  jsonLines,
  makeTarget,
  stackEnv,
  startWorker,
  Target,
  WorkerProcess,
} from '../harness';

jest.setTimeout(300_000);

const ID = `fl${process.pid}`;
const NAMES = [`${ID}a`, `${ID}b`, `${ID}c`];
const GROUP = `${ID}g`;
let targets: Target[] = [];
let env: Env;
let worker: WorkerProcess | undefined;

/** The demo database says environment "production": a staging copy lets the fleet's approval cover each child. */
async function makeStaging(databaseUrl: string): Promise<void> {
  const c = new PgClient({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(`UPDATE ar_internal_metadata SET value = 'staging' WHERE key = 'environment'`);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  const stack = await stackEnv();
  for (const name of NAMES) targets.push(await makeTarget(stack, name, { approvalRequired: false }));
  await Promise.all(targets.map((t) => makeStaging(t.databaseUrl)));
  // One targets file with the three targets and a group of them.
  const merged = { targets: {} as Record<string, unknown>, groups: { [GROUP]: NAMES } };
  for (const t of targets) Object.assign(merged.targets, JSON.parse(fs.readFileSync(t.targetsFile, 'utf8')).targets);
  const file = path.join(targets[0].dir, 'fleet-targets.json');
  fs.writeFileSync(file, JSON.stringify(merged, null, 2));
  env = Object.assign({}, ...targets.map((t) => t.env), {
    RESET_RUNBOOK_TARGETS: file,
    RR_TASK_QUEUE: `rr-fleet-${process.pid}`,
  });
  worker = await startWorker(env);
});

afterAll(async () => {
  for (const f of [`fleet-${ID}`, `fleet-${ID}p`, `fleet-${ID}x`])
    await cli(['fleet', 'abort', f, '--no-wait'], env).catch(() => undefined);
  await worker?.stop();
  targets = targets.filter(Boolean);
  for (const t of targets) await dropTarget(t);
});

test('usage errors exit 2 before anything is started', async () => {
  const both = await cli(['fleet', 'start', ID, '--targets', NAMES[0], '--group', GROUP, '--json'], env);
  expect(both.code).toBe(2);
  expect(json(both).error).toContain('exactly one of --targets');
  const share = await cli(['fleet', 'start', ID, '--group', GROUP, '--max-concurrent', '110%'], env);
  expect(share.code).toBe(2);
  expect(share.stderr).toContain('more than 100%');
  expect((await cli(['fleet', 'plan', ID, '--targets', 'Bad!'], env)).code).toBe(2);
  expect((await cli(['fleet', 'status', `no-such-fleet-${ID}`], env)).code).toBe(5);
});

test('fleet plan: every target planned, nothing touched', async () => {
  const r = await cli(['fleet', 'plan', ID, '--group', GROUP, '--batches', '1,100%', '--json'], env);
  expect(r.code).toBe(0);
  const body = json(r);
  expect(body).toMatchObject({
    kind: 'fleet',
    name: ID,
    mode: 'plan',
    status: 'COMPLETED',
    outcome: 'planned',
    exitCode: 0,
  });
  expect(body.workflowId).toMatch(new RegExp(`^plan-fleet-${ID}-`));
  expect(body.targets.map((t: any) => [t.target, t.status, t.plan.databaseName, t.plan.environment])).toEqual(
    NAMES.map((n) => [n, 'planned', `rr_${n}`, 'staging']),
  );
  expect(body.limits).toMatchObject({ targets: 3, databases: 3, batches: [1, 2] });

  const h = await cli(['fleet', 'plan', ID, '--targets', NAMES.join(',')], env);
  expect(h.code).toBe(0);
  expect(h.stdout).toContain(`Plan for fleet "${ID}": 3 targets, 3 databases`);
  for (const n of NAMES)
    expect(h.stdout).toMatch(
      new RegExp(`${n}\\s+rr_${n}\\s+staging\\s+\\d+\\s+[\\d,]+\\s+\\d+\\s+no \\(the fleet approval covers it\\)`),
    );
  for (const t of targets) expect(await countRows(t.databaseUrl, 'customers')).toBe(20);
});

test('fleet start --confirm --databases: every target reset, then status --json and list', async () => {
  const r = await cli(
    [
      'fleet',
      'start',
      ID,
      '--group',
      GROUP,
      '--confirm',
      ID,
      '--databases',
      '3',
      '--max-concurrent',
      '2',
      '--reason',
      'e2e',
      '--json',
    ],
    env,
    { timeoutMs: 240_000 },
  );
  const lines = jsonLines(r);
  const last = lines[lines.length - 1];
  expect(last).toMatchObject({
    type: 'result',
    workflowId: `fleet-${ID}`,
    status: 'COMPLETED',
    outcome: 'completed',
    endReason: 'completed',
    exitCode: 0,
  });
  expect(r.code).toBe(0);
  expect(last.targets.map((t: any) => [t.target, t.status, t.workflowId])).toEqual(
    NAMES.map((n) => [n, 'completed', `reset-${n}`]),
  );
  expect(lines.some((l) => l.type === 'progress' && l.targets.some((t: any) => t.status === 'running'))).toBe(true);
  for (const t of targets) expect(await countRows(t.databaseUrl, 'customers')).toBe(0);

  const st = await cli(['fleet', 'status', `fleet-${ID}`, '--json'], env);
  expect(st.code).toBe(0);
  expect(json(st)).toMatchObject({
    name: ID,
    status: 'COMPLETED',
    outcome: 'completed',
    totals: { targets: 3, completed: 3 },
  });
  const human = await cli(['fleet', 'status', ID], env);
  expect(human.stdout).toContain(`Fleet "${ID}": completed`);

  const l = await cli(['list', '--json'], env);
  expect(l.code).toBe(0);
  const fleet = json(l).fleets.find((f: any) => f.workflowId === `fleet-${ID}`);
  expect(fleet).toMatchObject({ kind: 'fleet', status: 'COMPLETED', outcome: 'completed' });
  expect(fleet.children.map((c: any) => c.target)).toEqual(NAMES);
  const lh = await cli(['list'], env);
  expect(lh.stdout).toContain('Fleets');
  expect(lh.stdout).toContain(`reset-${NAMES[0]}`);
});

test('fleet start without --confirm: the plan shown, the name and the number of databases typed', async () => {
  const name = `${ID}p`;
  const r = await cli(['fleet', 'start', name, '--targets', `${NAMES[0]},${NAMES[1]}`], env, {
    input: `wrong\n${name}\n3\n2\n`,
    timeoutMs: 240_000,
  });
  expect(r.stderr).toContain(`Plan for fleet "${name}": 2 targets, 2 databases`);
  expect(r.stderr).toContain(`Type the fleet's name (${name})`);
  expect(r.stderr).toContain(`"wrong" is not "${name}"`);
  expect(r.stderr).toContain('"3" is not 2');
  expect(r.stdout).toContain(`Fleet "${name}": completed`);
  expect(r.code).toBe(0);
});

test('fleet follow --exit-on-wait stops at the approval (exit 3); fleet abort ends it, nothing touched', async () => {
  const name = `${ID}x`;
  const s = await cli(['fleet', 'start', name, '--targets', NAMES[2], '--detach', '--json'], env);
  expect(s.code).toBe(0);
  const f = await cli(['fleet', 'follow', name, '--exit-on-wait', '--json'], env);
  expect(f.code).toBe(3);
  const lines = jsonLines(f);
  expect(lines[lines.length - 1]).toMatchObject({
    phase: 'awaiting-approval',
    approval: { fleet: name, databases: 1 },
  });
  const wrong = await cli(['fleet', 'approve', name, '--confirm', name, '--databases', '5', '--json'], env);
  expect(wrong.code).toBe(3);
  const a = await cli(['fleet', 'abort', name, '--reason', 'e2e', '--json'], env);
  expect(a.code).toBe(0);
  expect(json(a)).toMatchObject({ signal: 'abort', outcome: 'aborted', endReason: 'aborted' });
});
