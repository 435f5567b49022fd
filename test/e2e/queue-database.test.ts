/** Rails 8 keeps Solid Queue in a database of its own: it is backed up, reset and verified too. */
import { approveAndFinish } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

test('a target with a separate queue database is reset as db:seed:replant does', async () => {
  f = await fixture({ separateQueue: true });
  expect(f.service('start')).toBe(0);
  const jobsBefore = await f.count('solid_queue_jobs', f.queueDbUrl);
  expect(jobsBefore).toBeGreaterThan(0);
  await f.startWorker();
  const r = await approveAndFinish(await f.start({ mode: 'execute' }), f.dbName);
  expect(r.outcome).toBe('completed');
  expect(r.verify?.report).toBe(
    ['Users: 6', 'Phone Models: 10', 'System Settings: 1', 'Customers: 0', 'Loans: 0', 'Queue Jobs: 0'].join('\n'),
  );
  expect(r.backup!.files.map((x) => x.database)).toEqual(['primary', 'queue']);
  expect(r.backup!.files[1].path).toMatch(/\.queue\.dump$/);
  expect(await f.count('solid_queue_jobs', f.queueDbUrl)).toBe(0);
  expect(r.countsBefore![`queue/public.solid_queue_jobs`]).toBe(jobsBefore);
  expect(f.service('status')).toBe(0);
});
