/**
 * Issue 8 — undo a reset, on the real stack: a reset, then `restoreFromBackup` of its backup gives
 * every table's checksum back and (with storage.quarantine) every purged object; a damaged backup is
 * refused with nothing touched; a worker SIGKILLed at each of the restore's crash points
 * (RESTORE_CRASH_POINTS: mid-transaction, after the commit, mid-way through copying the objects
 * back) is replaced and the run ends with the same checksums and every object back.
 */
import * as fs from 'node:fs';
import { tableChecksums } from '../../demo/generate';
import { RESTORE_CRASH_POINTS } from '../../src/activities/lib/faults';
import { approveSignal, progressQuery, type RestoreResult } from '../../src/contract';
import { approveAndFinish, completedReset, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
jest.setTimeout(300_000);
afterEach(async () => {
  await f?.cleanup();
});

/**
 * Every table's checksum, but for what the running workers change by themselves once started again:
 * their process rows (rewritten every second), and the restored ready jobs, which they run at once
 * (finished_at set, ready execution gone). Those jobs are compared by id instead (jobIds).
 */
async function checksums(): Promise<Record<string, string>> {
  const all = await tableChecksums(f.dbUrl);
  for (const t of ['solid_queue_processes', 'solid_queue_jobs', 'solid_queue_ready_executions']) delete all[t];
  return all;
}

async function jobIds(): Promise<string> {
  return (
    await f.sql<{ ids: string }>(
      `SELECT string_agg(id::text || ':' || class_name, ',' ORDER BY id) AS ids FROM solid_queue_jobs`,
    )
  )[0].ids;
}

function withQuarantine(): string {
  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
  const prefix = `quarantine-${f.id}/`;
  file.targets[f.target].storage.quarantine = { bucket: f.bucket, prefix, days: 30 };
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
  return prefix;
}

async function failureDetails(p: Promise<unknown>): Promise<RestoreResult> {
  const err = (await p.then(
    () => undefined,
    (e) => e,
  )) as { cause?: { details?: unknown[]; type?: string } } | undefined;
  expect(err).toBeDefined();
  return err!.cause!.details![0] as RestoreResult;
}

test('reset, then restore: every table and every purged object is back', async () => {
  f = await fixture();
  const qPrefix = withQuarantine();
  expect(f.service('start')).toBe(0);
  const before = await checksums();
  const jobsBefore = await jobIds();
  const objectsBefore = await f.objects();
  await f.startWorker();
  const { r: reset } = await completedReset(f);
  expect(reset.objectsDeleted!.count).toBeGreaterThan(0);
  expect((await f.objects()).size).toBeLessThan(objectsBefore.size);
  expect((await f.objects(qPrefix)).size).toBe(reset.objectsDeleted!.count);
  expect(await checksums()).not.toEqual(before);

  const h = await f.startRestore();
  const waiting = await waitFor(h, (p) => p.phase === 'awaiting-approval');
  expect(waiting.approval?.database).toBe(f.dbName);
  expect(waiting.restorePlan?.checksumsOk).toBe(true);
  expect(waiting.restorePlan?.quarantine?.objects).toBe(reset.objectsDeleted!.count);
  // Nothing is touched while the restore waits for a person.
  expect(await f.count('customers')).toBe(0);
  await h.signal(approveSignal, { confirmation: f.dbName, by: 'jest' });
  const r = await h.result();

  expect(r.outcome).toBe('completed');
  expect(r.verify?.ok).toBe(true);
  expect(r.objectsRestored?.count).toBe(reset.objectsDeleted!.count);
  expect(await checksums()).toEqual(before);
  expect(await jobIds()).toEqual(jobsBefore);
  expect(await f.objects()).toEqual(objectsBefore);
  expect(f.service('status')).toBe(0);
  expect(r.workers?.status).toBe('running');
  // Sequences came back too: a new row gets an id after the restored ones, not a duplicate.
  const [{ max }] = await f.sql<{ max: string }>('SELECT max(id)::text AS max FROM customers');
  const [{ next }] = await f.sql<{ next: string }>(
    `SELECT nextval(pg_get_serial_sequence('customers', 'id'))::text AS next`,
  );
  expect(Number(next)).toBeGreaterThan(Number(max));
});

test('a backup whose checksum does not match its record is refused, nothing touched', async () => {
  f = await fixture();
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const { r: reset } = await completedReset(f);
  const file = reset.backup!.files[0].path;
  const bytes = fs.readFileSync(file);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  fs.writeFileSync(file, bytes);
  const afterReset = await checksums();

  const h = await f.startRestore({ resetRunId: undefined });
  const r = await failureDetails(h.result());
  expect(r.outcome).toBe('rejected');
  expect(r.endReason).toBe('refused');
  expect(r.message).toMatch(/does not match its record/);
  expect(r.workers?.status).toBe('untouched');
  expect(await checksums()).toEqual(afterReset);
  expect(f.service('status')).toBe(0);
  const p = await h.query(progressQuery);
  expect(p.steps.find((s) => s.name === 'restore')?.status).toBe('skipped');
});

/** What the database and the bucket show right after the worker died at `point`, before the run went on. */
const PAGE_SIZE = 5;
type RestoreCrashPoint = (typeof RESTORE_CRASH_POINTS)[number];
const AT_THE_CRASH: Record<
  RestoreCrashPoint,
  (c: { customers: number; customersBefore: number; back: number; quarantined: number }) => void
> = {
  // The killed transaction rolled back: the tables are as the reset left them, not half-loaded.
  'restore.loading': (c) => expect(c.customers).toBe(0),
  // Committed, but Temporal never heard: the retry restores it again over itself.
  'restore.done': (c) => {
    expect(c.customers).toBe(c.customersBefore);
    expect(c.back).toBe(0);
  },
  // One page of objects copied back, the rest still only in the quarantine.
  'restoreStorage.copying': (c) => {
    expect(c.customers).toBe(c.customersBefore);
    expect(c.back).toBeGreaterThanOrEqual(PAGE_SIZE);
    expect(c.back).toBeLessThan(c.quarantined);
  },
};
test.each([...RESTORE_CRASH_POINTS])(
  'a worker killed at %s in the restore is replaced; the restore ends with every table and object back',
  async (point) => {
    // Small pages, so that the copying back of the quarantined objects has a middle to crash in.
    f = await fixture({ pageSize: PAGE_SIZE });
    const qPrefix = withQuarantine();
    expect(f.service('start')).toBe(0);
    const before = await checksums();
    const jobsBefore = await jobIds();
    const objectsBefore = await f.objects();
    const customersBefore = await f.count('customers');
    const first = await f.startWorker();
    const { r: reset, runId } = await completedReset(f);
    await first.kill('SIGKILL');
    const quarantined = (await f.objects(qPrefix)).size;
    expect(quarantined).toBe(reset.objectsDeleted!.count);
    expect(quarantined).toBeGreaterThan(PAGE_SIZE);
    const afterReset = (await f.objects()).size;

    const doomed = await f.startWorker({ RR_CRASH_AT: point });
    const h = await f.startRestore({ resetRunId: runId });
    const finished = approveAndFinish(h as never, f.dbName) as unknown as Promise<RestoreResult>;
    await new Promise<void>((resolve) => doomed.child.once('exit', () => resolve()));
    expect(doomed.child.signalCode).toBe('SIGKILL');
    expect(doomed.log()).toContain(`crash point ${point} reached`);
    AT_THE_CRASH[point]({
      customers: await f.count('customers'),
      customersBefore,
      back: (await f.objects()).size - afterReset,
      quarantined,
    });

    await f.startWorker();
    const r = await finished;
    expect(r.outcome).toBe('completed');
    expect(r.verify?.ok).toBe(true);
    expect(r.objectsRestored?.count).toBe(quarantined);
    expect(await checksums()).toEqual(before);
    expect(await jobIds()).toEqual(jobsBefore);
    expect(await f.objects()).toEqual(objectsBefore);
    expect(f.service('status')).toBe(0);
    expect(r.workers?.status).toBe('running');
    const p = await h.query(progressQuery);
    expect(p.steps.filter((x) => x.status !== 'done').map((x) => x.name)).toEqual([]);
  },
);
