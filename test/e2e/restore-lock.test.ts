/**
 * The restore's own destructive step holds the database's advisory lock, as every destructive reset
 * step does: while another session holds it, the restore step does not run (its attempt says the
 * database is busy and nothing is loaded); once the lock is given back, the next attempt restores.
 * Real Temporal, PostgreSQL and S3.
 */
import { Client } from 'pg';
import { lockKey, maintenanceUrl } from '../../src/activities/lib/advisory-lock';
import type { restoreFromBackup } from '../../src/workflows';
import { approveSignal, restoreWorkflowId } from '../../src/contract';
import { approveAndFinish, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';

jest.setTimeout(300_000);
let f: ResetFixture;
const sessions: Client[] = [];
afterEach(async () => {
  for (const c of sessions.splice(0)) await c.end().catch(() => undefined);
  await f?.cleanup();
});

async function session(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  sessions.push(c);
  return c;
}

test('a restore step waits while another session holds the database advisory lock, then restores', async () => {
  // No workers to stop: the restore step is the restore's first destructive step, the one held up.
  f = await fixture({ target: { noWorkers: true, timing: { maximumAttempts: 10 } } });
  await f.startWorker();
  const customers = await f.count('customers');
  expect(customers).toBeGreaterThan(0);
  const reset = await approveAndFinish(await f.start({ mode: 'execute' }), f.dbName);
  expect(reset.outcome).toBe('completed');
  expect(await f.count('customers')).toBe(0);

  const h = await f.client.workflow.start<typeof restoreFromBackup>('restoreFromBackup', {
    taskQueue: f.taskQueue,
    workflowId: restoreWorkflowId(f.target),
    args: [{ target: f.target }],
  });
  // The restore has claimed the database (before its approval); now another session takes the
  // advisory lock exactly as a destructive step would: same key, same place.
  await waitFor(h, (p) => p.phase === 'awaiting-approval');
  const { key } = await lockKey(await session(f.dbUrl));
  const holder = await session(maintenanceUrl(f.dbUrl)!);
  expect((await holder.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1::bigint) AS ok`, [key])).rows[0].ok).toBe(
    true,
  );
  await h.signal(approveSignal, { confirmation: f.dbName, by: 'jest' });
  // An attempt ran and found the lock taken: nothing was loaded.
  const busy = await waitFor(h, (p) =>
    /is busy: another session of reset-runbook holds its lock/.test(
      p.steps.find((s) => s.name === 'restore')?.detail ?? '',
    ),
  );
  expect(busy.steps.find((s) => s.name === 'restore')!.status).toBe('running');
  expect(await f.count('customers')).toBe(0);

  await holder.query(`SELECT pg_advisory_unlock($1::bigint)`, [key]);
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  expect(await f.count('customers')).toBe(customers);
});
