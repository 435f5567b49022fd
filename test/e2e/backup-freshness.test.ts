/**
 * Freshness by construction (issue 7): the backup that protects the TRUNCATE is never older than
 * backup.maxAgeMinutes when the TRUNCATE runs, however late the approval comes; and once this run's
 * TRUNCATE committed, a retry never refuses for age and finishes the purge with the manifest recorded
 * before the commit. The age limit is made short through the targets file (0.25 min = 15 s).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { approveSignal, retrySignal } from '../../src/contract';
import { approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { REPO_ROOT } from '../support/temporal';

const MAX_AGE_MINUTES = 0.25;
const PAST_THE_LIMIT_MS = MAX_AGE_MINUTES * 60_000 + 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REPORT = ['Users: 6', 'Phone Models: 10', 'System Settings: 1', 'Customers: 0', 'Loans: 0', 'Queue Jobs: 0'].join(
  '\n',
);

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

test('an approval after backup.maxAgeMinutes completes, with a backup taken again before the workers stopped', async () => {
  f = await fixture({ target: { backup: { maxAgeMinutes: MAX_AGE_MINUTES } } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  const asked = await waitFor(h, (p) => p.phase === 'awaiting-approval');
  const first = asked.backup!;
  await sleep(PAST_THE_LIMIT_MS);
  await h.signal(approveSignal, { confirmation: f.dbName, by: 'jest' });
  const r = await h.result();

  expect(r.outcome).toBe('completed');
  expect(r.endReason).toBe('completed');
  expect(r.verify?.report).toBe(REPORT);
  // The backup that protected the TRUNCATE is a new one, taken after the approval, and it is whole.
  expect(Date.parse(r.backup!.createdAt)).toBeGreaterThan(Date.parse(first.createdAt) + PAST_THE_LIMIT_MS);
  expect(r.backup!.files[0].path).not.toBe(first.files[0].path);
  expect(fs.statSync(r.backup!.files[0].path).size).toBe(r.backup!.files[0].bytes);
  expect(r.backup!.files[0].tocEntries).toBeGreaterThan(0);
  const p = await waitFor(h, () => true);
  const backupStep = p.steps.find((s) => s.name === 'backup')!;
  expect(backupStep.attempts).toBe(2);
  expect(backupStep.detail).toMatch(/^refreshed: the backup of .* would be older than 0.25 min at the TRUNCATE/);
  expect(f.service('status')).toBe(0);
});

test("a seed command failing after the commit, retried after backup.maxAgeMinutes, completes; the purge deletes exactly the dropped blobs' objects", async () => {
  const dirSeed = fs.mkdtempSync('/tmp/rr-seed-');
  const wrapper = path.join(dirSeed, 'seed');
  fs.writeFileSync(wrapper, `#!/bin/sh\necho "seeds.rb:12: undefined method (NoMethodError)" >&2\nexit 1\n`, {
    mode: 0o755,
  });
  try {
    f = await fixture({
      seeds: 'command',
      target: {
        seedCommand: [wrapper],
        backup: { maxAgeMinutes: MAX_AGE_MINUTES },
        timing: { maximumAttempts: 1, heartbeatTimeoutSeconds: 5 },
      },
    });
    expect(f.service('start')).toBe(0);
    const blobKeys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key);
    expect(blobKeys.length).toBeGreaterThan(0);
    const before = await f.objects();
    const customers = await f.count('customers');
    await f.startWorker();
    const h = await f.start({ mode: 'execute' });
    await approveWhenAsked(h, f.dbName);
    const paused = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
    expect(paused.waiting?.step).toBe('reset');
    expect(paused.waiting?.error).toMatch(/Seed command .* exited with code 1/);
    expect(await f.count('customers')).toBe(0); // the TRUNCATE committed
    const backupBefore = paused.backup!;

    await sleep(PAST_THE_LIMIT_MS);
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${path.join(REPO_ROOT, 'demo', 'bin', 'seed')}\n`, { mode: 0o755 });
    await h.signal(retrySignal);
    const r = await h.result();

    expect(r.outcome).toBe('completed');
    expect(r.verify?.report).toBe(REPORT);
    // Not refused for age, and no backup of the emptied database replaced the one taken before the TRUNCATE.
    expect(r.backup).toEqual(backupBefore);
    const p = await waitFor(h, () => true);
    expect(p.steps.find((s) => s.name === 'backup')?.attempts).toBe(1);
    const reset = p.steps.find((s) => s.name === 'reset')!;
    expect(reset.attempts).toBe(2);
    // The figures of the first TRUNCATE, not the emptied tables the retry found.
    expect(reset.detail).toMatch(
      new RegExp(`^\\d+ rows truncated \\(\\d+ kept tables: \\d+ rows kept\\); ${blobKeys.length} blob keys recorded$`),
    );
    expect(r.countsBefore?.['primary/public.customers']).toBe(customers);

    // The purge used the manifest recorded before the commit: exactly the dropped blobs' objects are gone.
    const after = await f.objects();
    for (const key of blobKeys) {
      expect(after.has(`${f.prefix}${key}`)).toBe(false);
      expect([...after.keys()].some((k) => k.startsWith(`${f.prefix}variants/${key}/`))).toBe(false);
    }
    const deleted = [...before.keys()].filter((k) => !after.has(k));
    expect(deleted.length).toBe(
      f.report.objects!.blob + f.report.objects!.trackedVariant + f.report.objects!.untrackedVariant,
    );
    expect(r.objectsDeleted?.count).toBe(deleted.length);
    expect(after.size).toBe(f.report.objects!.orphan);
    expect(f.service('status')).toBe(0);
  } finally {
    fs.rmSync(dirSeed, { recursive: true, force: true });
  }
});
