/**
 * Crash survival: a worker SIGKILLed in the middle of a step, or right after a step's work is done
 * but before Temporal heard of it, is replaced by a new worker that finishes the run with the same
 * end state as an uninterrupted one. The crash is a real SIGKILL of the worker process, at an exact
 * point (RR_CRASH_AT, see src/activities/lib/faults.ts).
 */
import * as fs from 'node:fs';
import { RESET_CRASH_POINTS, type CrashPoint } from '../../src/activities/lib/faults';
import { approveAndFinish } from '../support/drive';
import { ResetFixture } from '../support/fixture';

const EXPECTED = [
  'Users: 6',
  'Phone Models: 10',
  'System Settings: 1',
  'Customers: 0',
  'Loans: 0',
  'Queue Jobs: 0',
].join('\n');

// plan.done changes nothing to recover from; the fault suite (faults/scenarios/crashes.ts) kills there too.
const points: CrashPoint[] = RESET_CRASH_POINTS.filter((p) => p !== 'plan.done');

// Concurrent (jest's maxConcurrency at a time): each point has its own fixture (database, key prefix, task queue,
// target, workers), so the runs cannot see each other, and most of a run is waiting (the heartbeat timeout
// after the kill, a worker's boot), not work.
test.concurrent.each(points)(
  'a worker killed at %s is replaced and the run ends as an uninterrupted one',
  async (point) => {
    // Small pages, so that the purge has a middle to crash in.
    const f = new ResetFixture({ pageSize: 5 });
    try {
      const [doomed] = await f.setupWithWorkers([{ RR_CRASH_AT: point }]);
      expect(f.service('status')).toBe(0); // started by setupWithWorkers, which throws if the start fails
      const blobKeys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key);
      const otherBefore = await f.objects(f.otherAppPrefix);

      const h = await f.start({ mode: 'execute' });
      const finished = approveAndFinish(h, f.dbName);
      // The crash may come before this line (the exit event is then gone): poll the child's state.
      while (doomed.child.exitCode === null && doomed.child.signalCode === null)
        await new Promise((r) => setTimeout(r, 100));
      expect(doomed.child.signalCode).toBe('SIGKILL');
      expect(doomed.log()).toContain(`crash point ${point} reached`);

      await f.startWorker();
      const r = await finished;

      expect(r.outcome).toBe('completed');
      expect(r.verify?.report).toBe(EXPECTED);
      const after = await f.objects();
      for (const key of blobKeys) expect(after.has(`${f.prefix}${key}`)).toBe(false);
      expect([...after.keys()].some((k) => k.includes('/variants/'))).toBe(false);
      expect(after.size).toBe(f.report.objects!.orphan);
      expect(await f.objects(f.otherAppPrefix)).toEqual(otherBefore);
      expect(f.service('status')).toBe(0);
      // The seeds ran into an empty table set each time: no duplicated users, whatever was retried.
      expect(await f.count('users')).toBe(6);
      // A crash mid-backup leaves no file that looks whole; the finished backup is listed and complete.
      const files = fs.readdirSync(f.backupDir);
      expect(files.filter((x) => x.endsWith('.partial'))).toEqual([]);
      for (const file of r.backup!.files) expect(fs.statSync(file.path).size).toBe(file.bytes);
    } finally {
      await f.cleanup();
    }
  },
  // Timed from the test's turn in the report, not its start: a queued test's own clock starts late.
  240_000,
);
