/**
 * Four-eyes approvals end to end, on the real stack with a real worker: a production target (the demo
 * database says so) that needs two approvals and refuses self-approval, with no list of approvers.
 * Started by alice, approved by alice (refused), bob and carol (completed), and `audit --csv` names
 * bob and carol on that run's row: issue 18's done-when. A second run rejected by bob ends "rejected"
 * with the database untouched; a restore of the first follows the same rules.
 *
 *   npx jest --runInBand test/cli/e2e/four-eyes.test.ts
 */
import * as fs from 'node:fs';
import { parseCsv } from '../../support/csv';
import {
  cli,
  countRows,
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

const NAME = `foureyes${process.pid}`;
const DB = `rr_${NAME}`;
let target: Target;
let env: Env;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  target = await makeTarget(await stackEnv(), NAME);
  const file = JSON.parse(fs.readFileSync(target.targetsFile, 'utf8'));
  // No `approvers`: anyone but the starter counts, so only allowSelfApproval refuses alice.
  file.targets[NAME].approval = { required: 2, allowSelfApproval: false, timeout: '1h' };
  fs.writeFileSync(target.targetsFile, JSON.stringify(file, null, 2));
  env = { ...target.env, RR_TASK_QUEUE: `rr-foureyes-${process.pid}` };
  worker = await startWorker(env);
});

afterAll(async () => {
  await worker?.stop();
  await cli(['abort', `reset-${NAME}`, '--no-wait'], env).catch(() => undefined);
  await dropTarget(target);
});

const as = (identity: string, args: string[]) => cli([...args, '--identity', identity], env);
const approve = (identity: string) => as(identity, ['approve', NAME, '--confirm', DB, '--json']);

async function awaitingApproval(run = NAME): Promise<any> {
  return waitFor('the run to wait for approval', async () => {
    const s = json(await cli(['status', run, '--json'], env));
    return s.phase === 'awaiting-approval' && s.approval ? s : undefined;
  });
}

test('started by alice: her approval is refused; bob and carol approve, the reset completes, audit names both', async () => {
  const started = await as('alice@ops', ['start', NAME, '--detach', '--json']);
  expect(started.code).toBe(0);
  const { runId } = json(started);
  const waiting = await awaitingApproval();
  expect(waiting.approval).toMatchObject({ required: 2, startedBy: 'alice@ops', allowSelfApproval: false });
  expect(waiting.approval.approvers).toBeUndefined();

  const self = await approve('alice@ops');
  expect(self.code).toBe(1);
  expect(json(self)).toMatchObject({ counted: false, refused: expect.stringContaining('started this run') });
  expect(self.stderr).toContain('approval REFUSED by the run: alice@ops started this run and may not approve it');
  const afterSelf = json(await cli(['status', NAME, '--json'], env)).approval;
  expect(afterSelf.approvals).toEqual([]);

  const bob = await approve('bob@ops');
  expect(bob.code).toBe(0);
  expect(json(bob)).toMatchObject({ counted: true, refused: null, phase: 'awaiting-approval' });
  const status = await cli(['status', NAME], env);
  expect(status.code).toBe(3);
  expect(status.stdout).toContain('1 of 2 approvals: bob@ops');
  expect(status.stdout).toContain('needs 1 more approval, not from alice@ops (started the run)');
  expect(status.stdout).toContain('alice@ops started this run and may not approve it');
  expect(await countRows(target.databaseUrl, 'customers')).toBe(20);

  const carol = await approve('carol@ops');
  expect(carol.code).toBe(0);
  expect(json(carol)).toMatchObject({ taken: true });

  const done = await cli(['follow', NAME, '--json'], env, { timeoutMs: 240_000 });
  expect(done.code).toBe(0);
  const end = await cli(['status', NAME, '--json'], env);
  const result = json(end).result;
  expect(result).toMatchObject({ outcome: 'completed', startedBy: 'alice@ops' });
  expect(result.approvals.map((a: any) => a.identity)).toEqual(['bob@ops', 'carol@ops']);
  expect(result.approvals[0].planDigest).toBe(result.plan.digest);
  const human = await cli(['status', NAME], env);
  expect(human.stdout).toContain('approved by: bob@ops');

  // The audit as an operator types it: bin/reset-runbook, no --identity (the row is the run's, not the reader's).
  const csv = await cli(['audit', NAME, '--since', '1h', '--csv'], env);
  expect(csv.code).toBe(0);
  const [head, ...body] = parseCsv(csv.stdout);
  const rows = body.map((cells) => Object.fromEntries(head.map((h, i) => [h, cells[i]])));
  const row = rows.find((r) => r.runId === runId);
  expect(row).toMatchObject({ kind: 'reset', outcome: 'completed', startedBy: 'alice@ops' });
  expect(row!.approvers.split(';')).toEqual(['bob@ops', 'carol@ops']);
});

test('reject: the run ends "rejected", nothing touched; status exits 1', async () => {
  const before = await countRows(target.databaseUrl, 'users');
  const started = await as('alice@ops', ['start', NAME, '--detach', '--json']);
  expect(started.code).toBe(0);
  await awaitingApproval();
  const r = await as('bob@ops', ['reject', NAME, '--reason', 'not today', '--json']);
  expect(r.code).toBe(0);
  expect(json(r)).toMatchObject({ outcome: 'rejected', endReason: 'rejected' });
  const s = await cli(['status', NAME, '--json'], env);
  expect(s.code).toBe(1);
  expect(json(s).result).toMatchObject({
    outcome: 'rejected',
    endReason: 'rejected',
    rejectedBy: { identity: 'bob@ops', reason: 'not today' },
    workers: { status: 'untouched' },
  });
  expect(await countRows(target.databaseUrl, 'users')).toBe(before);
  const human = await cli(['status', NAME], env);
  expect(human.stdout).toContain('rejected by: bob@ops');
});

test('a restore of that reset obeys the same rules: alice refused, bob and carol approve; status, the ending and audit name them', async () => {
  const RUN = `restore-${NAME}`;
  const started = await as('alice@ops', ['restore', NAME, '--detach', '--json']);
  expect(started.code).toBe(0);
  const { runId } = json(started);
  await awaitingApproval(RUN);
  const byRun = (identity: string) => as(identity, ['approve', RUN, '--confirm', DB, '--json']);

  const self = await byRun('alice@ops');
  expect(self.code).toBe(1);
  expect(json(self)).toMatchObject({ counted: false, refused: expect.stringContaining('started this run') });
  expect((await byRun('bob@ops')).code).toBe(0);
  const status = await cli(['status', RUN], env);
  expect(status.stdout).toContain('1 of 2 approvals: bob@ops');
  expect(status.stdout).toContain('needs 1 more approval, not from alice@ops (started the run)');
  expect(await countRows(target.databaseUrl, 'customers')).toBe(0);

  expect((await byRun('carol@ops')).code).toBe(0);
  const done = await cli(['follow', RUN], env, { timeoutMs: 240_000 });
  expect(done.code).toBe(0);
  expect(done.stdout).toContain('started by: alice@ops');
  expect(done.stdout).toMatch(/approved by: bob@ops .*carol@ops/);
  expect(await countRows(target.databaseUrl, 'customers')).toBe(20);

  const csv = await cli(['audit', NAME, '--since', '1h', '--csv'], env);
  const [head, ...body] = parseCsv(csv.stdout);
  const row = body.map((cells) => Object.fromEntries(head.map((h, i) => [h, cells[i]]))).find((r) => r.runId === runId);
  expect(row).toMatchObject({
    kind: 'restore',
    outcome: 'completed',
    startedBy: 'alice@ops',
    approvers: 'bob@ops;carol@ops',
  });
});
