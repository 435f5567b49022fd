/** Plan mode changes nothing; a second reset of a target is refused while one runs. */
import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { tableChecksums } from '../../demo/generate';
import { abortSignal } from '../../src/contract';
import { waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

async function fingerprint(fx: ResetFixture): Promise<string> {
  const tables = await tableChecksums(fx.dbUrl, { exclude: ['solid_queue_processes'] });
  const objects = [...(await fx.objects('')).entries()]
    .filter(([k]) => k.startsWith(fx.prefix) || k.startsWith(fx.otherAppPrefix))
    .sort();
  return createHash('sha256').update(JSON.stringify({ tables, objects })).digest('hex');
}

test('plan mode reports what would happen and changes nothing', async () => {
  f = await fixture();
  // No workers running: the live heartbeats would change solid_queue_processes on their own.
  const before = await fingerprint(f);
  await f.startWorker();
  const r = await (await f.start({ mode: 'plan' })).result();
  expect(r.outcome).toBe('planned');
  const plan = r.plan!;
  expect(plan.databaseName).toBe(f.dbName);
  expect(plan.environment).toBe('production');
  expect(plan.errors).toEqual([]);
  const truncated = plan.tables.filter((t) => t.action === 'truncate').map((t) => t.table);
  expect(truncated).toEqual(
    expect.arrayContaining(['customers', 'loans', 'users', 'active_storage_blobs', 'solid_queue_jobs']),
  );
  expect(
    plan.tables
      .filter((t) => t.action === 'keep')
      .map((t) => t.table)
      .sort(),
  ).toEqual(['ar_internal_metadata', 'schema_migrations']);
  expect(plan.tables.find((t) => t.table === 'customers')!.rows).toBe(await f.count('customers'));
  const o = f.report.objects!;
  // Issue 9: from the blob table, not a listing of the bucket — untracked variants have no row, so the plan
  // does not count them (the purge still deletes them); the sample says the blobs' objects are there.
  expect(plan.objectsToDelete.count).toBe(o.blob + o.trackedVariant);
  expect(plan.objectsToDelete.sample).toEqual({
    checked: o.blob + o.trackedVariant,
    present: o.blob + o.trackedVariant,
  });
  expect(plan.digest).toMatch(/^[0-9a-f]{64}$/);
  expect(await fingerprint(f)).toBe(before);
  expect(plan.backupDirFreeBytes).toBeGreaterThan(0);
});

test('a kept table that references a truncated one is a plan error, and an execute run is refused untouched', async () => {
  f = await fixture({ target: { keepTables: ['sessions'] } });
  await f.startWorker();
  const before = await fingerprint(f);
  const plan = (await (await f.start({ mode: 'plan' })).result()).plan!;
  expect(plan.errors.join('\n')).toMatch(/kept table public\.sessions references truncated table public\.users/);
  const err = await (await f.start({ mode: 'execute' })).result().catch((e) => e);
  expect(err.cause?.type).toBe('ResetRefused');
  expect(await fingerprint(f)).toBe(before);
});

test('a second reset of the same target is refused while one runs', async () => {
  f = await fixture();
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await waitFor(h, (p) => p.phase === 'awaiting-approval');
  await expect(f.start({ mode: 'execute' })).rejects.toThrow(WorkflowExecutionAlreadyStartedError);
  await h.signal(abortSignal, { reason: 'test over' });
  await h.result().catch(() => undefined);
});
