/**
 * The restore's last check (verifyRestore, src/activities/restore/verify.ts) on a real PostgreSQL with
 * the queue in a database of its own: every expected table counted in its own database, the report in
 * the expected order, a table whose count differs named with both figures, and Solid Queue's process
 * registry (and, once the workers run, all of Solid Queue's tables) left out.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { loadTargetsFile } from '../../src/config/load';
import { verifyRestore } from '../../src/activities/restore/verify';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

async function counts(url: string, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = Number((await f.sql<{ n: string }>(`SELECT count(*) AS n FROM ${t}`, [], url))[0].n);
  return out;
}

test('each database counted on its own, in order; a difference named with both figures; queue tables left out as asked', async () => {
  f = await fixture({ separateQueue: true });
  const deps = { targets: loadTargetsFile(f.targetsFile, f.workerEnv), env: f.workerEnv };
  const app = await counts(f.dbUrl, ['public.customers', 'public.users']);
  const queue = await counts(f.queueDbUrl!, ['public.solid_queue_jobs']);
  const expected = {
    'primary/public.customers': app['public.customers'],
    'queue/public.solid_queue_jobs': queue['public.solid_queue_jobs'],
    'queue/public.solid_queue_processes': 12345, // never compared: not data
    'primary/public.users': app['public.users'] + 1, // one row short after the "restore"
  };

  // Run as an activity (it heartbeats), outside a worker.
  const verify = (workersRunning: boolean): ReturnType<typeof verifyRestore> =>
    new MockActivityEnvironment().run(verifyRestore, deps, { target: f.target, expected, workersRunning });
  const v = await verify(false);
  expect(v.report.split('\n')).toEqual([
    `primary/public.customers: ${app['public.customers']}`,
    `queue/public.solid_queue_jobs: ${queue['public.solid_queue_jobs']}`,
    `primary/public.users: ${app['public.users']}`,
  ]);
  expect(v.mismatches).toEqual([
    `primary/public.users: ${app['public.users']}, the backup held ${app['public.users'] + 1}`,
  ]);
  expect(v.ok).toBe(false);

  const running = await verify(true);
  expect(running.report.split('\n')).toEqual([
    `primary/public.customers: ${app['public.customers']}`,
    `primary/public.users: ${app['public.users']}`,
  ]);
  expect(running.mismatches).toHaveLength(1);
});
