/**
 * One reset per database, whatever the workflow id: two targets of one targets file name the same
 * database, each served by its own worker on its own task queue (as two namespaces or two deployments
 * would be). The second execute run is refused before anything is touched, naming the holder; the
 * first completes untouched; once it ended, a new run proceeds. A SIGKILLed holder re-takes its lock
 * on the replacement worker, and nobody else gets in meanwhile.
 */
import * as fs from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import type { TargetsFile } from '../../src/config/types';
import { resetWorkflowId, type ResetInput } from '../../src/contract';
import type { productionDataReset } from '../../src/workflows';
import { approveAndFinish, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

const EXPECTED = [
  'Users: 6',
  'Phone Models: 10',
  'System Settings: 1',
  'Customers: 0',
  'Loans: 0',
  'Queue Jobs: 0',
].join('\n');

/** A second target naming the same database (same urlEnv), served on a task queue of its own. */
function addTwin(f: ResetFixture): { twin: string; queue: string } {
  const twin = `${f.target}-twin`;
  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8')) as TargetsFile;
  file.targets[twin] = JSON.parse(JSON.stringify(file.targets[f.target]));
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
  return { twin, queue: `${f.taskQueue}-twin` };
}

function startOn(f: ResetFixture, queue: string, input: ResetInput, workflowId = resetWorkflowId(input.target)) {
  return f.client.workflow.start<typeof productionDataReset>('productionDataReset', {
    taskQueue: queue,
    workflowId,
    args: [input],
  });
}

async function lockRows(f: ResetFixture): Promise<number> {
  return Number((await f.sql<{ n: string }>(`SELECT count(*) AS n FROM reset_runbook.reset_lock`))[0].n);
}

test('a second target naming the same database is refused, naming the holder; the first completes; afterwards a new run proceeds', async () => {
  f = await fixture();
  const { twin, queue } = addTwin(f);
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  await f.startWorker({ RR_TASK_QUEUE: queue });

  const first = await f.start({ mode: 'execute' });
  const firstRunId = first.firstExecutionRunId;
  // The claim is taken before the backup: by the approval, the database is held.
  await waitFor(first, (p) => p.phase === 'awaiting-approval');
  const customers = await f.count('customers');

  const plan = (await (await startOn(f, queue, { target: twin, mode: 'plan' }, `plan-${twin}`)).result()).plan!;
  expect(plan.warnings.join('\n')).toContain(`workflow "${first.workflowId}", run ${firstRunId}`);

  const second = await startOn(f, queue, { target: twin, mode: 'execute' });
  const err = await second.result().catch((e) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(err.cause?.type).toBe('ResetRefused');
  expect(err.cause?.message).toMatch(/nothing was touched/);
  expect(err.cause?.message).toContain(
    `held by another reset: workflow "${first.workflowId}", run ${firstRunId} (target "${f.target}", namespace "default") since `,
  );
  // Refused before its backup: no file of the twin's, the database as it was.
  expect(fs.readdirSync(f.backupDir).filter((x) => x.includes(twin))).toEqual([]);
  expect(await f.count('customers')).toBe(customers);

  const r = await approveAndFinish(first, f.dbName);
  expect(r.outcome).toBe('completed');
  expect(r.verify?.report).toBe(EXPECTED);
  expect(await lockRows(f)).toBe(0);

  // The first ended: the twin may reset now.
  const third = await startOn(f, queue, { target: twin, mode: 'execute' });
  const r3 = await approveAndFinish(third, f.dbName);
  expect(r3.outcome).toBe('completed');
  expect(r3.verify?.report).toBe(EXPECTED);
  expect(await lockRows(f)).toBe(0);
  expect(f.service('status')).toBe(0);
});

test('a holder SIGKILLed after its TRUNCATE keeps the database: another run is refused meanwhile, the replacement worker re-takes it and finishes', async () => {
  f = await fixture();
  const { twin, queue } = addTwin(f);
  expect(f.service('start')).toBe(0);
  await f.startWorker({ RR_TASK_QUEUE: queue });
  const doomed = await f.startWorker({ RR_CRASH_AT: 'reset.afterCommit' });

  const first = await f.start({ mode: 'execute' });
  const finished = approveAndFinish(first, f.dbName);
  await new Promise<void>((resolve) => doomed.child.once('exit', () => resolve()));
  expect(doomed.child.signalCode).toBe('SIGKILL');

  // While the holder has no worker, its claim stands.
  const other = await startOn(f, queue, { target: twin, mode: 'execute' });
  const err = await other.result().catch((e) => e);
  expect(err.cause?.type).toBe('ResetRefused');
  expect(err.cause?.message).toContain(`workflow "${first.workflowId}", run ${first.firstExecutionRunId}`);

  await f.startWorker();
  const r = await finished;
  expect(r.outcome).toBe('completed');
  expect(r.verify?.report).toBe(EXPECTED);
  expect(await f.count('users')).toBe(6);
  expect(await lockRows(f)).toBe(0);
  expect(f.service('status')).toBe(0);
});
