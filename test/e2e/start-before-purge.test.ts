/**
 * workers.startBeforePurge on the real stack (Temporal, PostgreSQL, moto, the stand-in Solid Queue
 * service, a worker process): the purge is held mid-way by an S3 proxy that keeps its DeleteObjects
 * calls waiting, and while it waits the workers are running and heartbeating, not one object is gone
 * yet; released, the run ends exactly as the normal reset does (full-reset.test.ts checks the same).
 */
import { progressQuery } from '../../src/contract';
import { cli } from '../cli/harness';
import { approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { temporalAddress } from '../support/temporal';
import { startS3FaultProxy, type S3FaultProxy } from '../support/s3-fault-proxy';

let f: ResetFixture;
let proxy: S3FaultProxy;
afterEach(async () => {
  await f?.cleanup();
  await proxy?.close();
});

test('workers.startBeforePurge: the workers run while the purge runs, and the reset ends as the normal one does', async () => {
  proxy = await startS3FaultProxy(process.env.RR_S3_ENDPOINT!);
  let release: () => void = () => undefined;
  proxy.hold = new Promise<void>((r) => (release = r));
  f = await fixture({ pageSize: 10, target: { endpoint: proxy.endpoint, startBeforePurge: true } });
  expect(f.service('start')).toBe(0);
  const blobKeys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key);
  expect(blobKeys.length).toBeGreaterThan(0);
  const before = await f.objects();
  const otherBefore = await f.objects(f.otherAppPrefix);

  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  try {
    // The purge has sent its first DeleteObjects and waits on it: the workers are already up.
    const during = await waitFor(h, (p) => p.currentStep === 'purgeStorage' && proxy.held > 0);
    expect(during.workers.status).toBe('running');
    expect(during.steps.map((s) => s.name).slice(4)).toEqual(['reset', 'startWorkers', 'purgeStorage', 'verify']);
    expect(f.service('status')).toBe(0);
    // Heartbeats keep coming while the purge is held (the stand-in beats every second).
    await new Promise((r) => setTimeout(r, 2500));
    const live = await f.sql<{ n: string }>(
      `SELECT count(*) AS n FROM solid_queue_processes WHERE last_heartbeat_at > now() - interval '2 seconds'`,
    );
    expect(Number(live[0].n)).toBeGreaterThan(0);
    expect((await f.objects()).size).toBe(before.size); // nothing deleted yet
  } finally {
    release();
  }
  proxy.hold = undefined;
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  expect(r.verify?.report).toBe(
    ['Users: 6', 'Phone Models: 10', 'System Settings: 1', 'Customers: 0', 'Loans: 0', 'Queue Jobs: 0'].join('\n'),
  );
  // The workers-stopped window closed before the purge began.
  const purge = (await h.query(progressQuery)).steps.find((s) => s.name === 'purgeStorage')!;
  expect(r.workers?.status).toBe('running');
  expect(Date.parse(r.workers!.startedAgainAt!)).toBeLessThanOrEqual(Date.parse(purge.startedAt!));

  // Storage ends as after a normal reset: every object of a dropped blob gone, orphans and the other app's kept.
  const after = await f.objects();
  for (const key of blobKeys) {
    expect(after.has(`${f.prefix}${key}`)).toBe(false);
    expect([...after.keys()].some((k) => k.startsWith(`${f.prefix}variants/${key}/`))).toBe(false);
  }
  const deleted = [...before.keys()].filter((k) => !after.has(k));
  expect(r.objectsDeleted?.count).toBe(deleted.length);
  expect(after.size).toBe(f.report.objects!.orphan);
  expect(deleted.length).toBe(
    f.report.objects!.blob + f.report.objects!.trackedVariant + f.report.objects!.untrackedVariant,
  );
  expect(await f.objects(f.otherAppPrefix)).toEqual(otherBefore);
  expect(f.service('status')).toBe(0);

  // The CLI lists the steps in the order they ran.
  const status = await cli(['status', f.target], { TEMPORAL_ADDRESS: temporalAddress(), RR_TASK_QUEUE: f.taskQueue });
  const rows = status.stdout.split('\n').filter((l) => /^\s+✔\s+\d /.test(l));
  expect(rows.map((l) => /✔\s+(\d)/.exec(l)![1])).toEqual(['0', '1', '2', '3', '5', '4', '6']);
  expect(status.stdout).toMatch(/5 Restart Solid Queue workers\s+done.*before the purge/);
});
