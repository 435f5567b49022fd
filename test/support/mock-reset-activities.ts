/**
 * The reset's activities, mocked for workflow unit tests on the time-skipping server: every call is
 * recorded under its target (so a test sees whether anything destructive ran), and each target's plan is
 * the one the test put in `plans`. Shared by the four-eyes tests of a reset and of a fleet's children.
 */
import { ApplicationFailure } from '@temporalio/client';
import type { Activities } from '../../src/activities';
import type { Plan } from '../../src/contract';

/** The activities a test watches: none runs before the approvals are in. */
export const DESTRUCTIVE = ['stopWorkers', 'resetDatabase', 'purgeStorage'];

const RESULTS: Record<string, unknown> = {
  stopWorkers: { staleProcessRows: 0, claimedByDeadProcesses: 0 },
  resetDatabase: {
    manifest: { path: '/b/m.json', blobs: 1, bytes: 10 },
    countsBefore: { a: 1 },
    countsAfter: { a: 0 },
    truncated: { tables: 1, rows: 1 },
    kept: { tables: 0, rows: 0 },
  },
  resetState: { databaseChanged: false },
  purgeStorage: { deleted: 2, bytes: 20, keptReferenced: 0 },
  startWorkers: { alive: 3 },
  sendNotification: undefined,
  verifyCounts: { ok: true, lines: [], report: 'Users: 6', hints: [], accounts: { count: 1, roles: {} } },
  acquireResetLock: [],
  releaseResetLock: { released: 1 },
};

export interface MockedReset {
  /** The calls each target's activities got, in order (the lock's calls left out). */
  callsByTarget: Map<string, string[]>;
  plans: Map<string, Plan>;
  activities: Activities;
}

/** `now`: the test server's clock, for the backup's time (the plan's age checks read it). */
export function mockResetActivities(now: () => Promise<string>): MockedReset {
  const callsByTarget = new Map<string, string[]>();
  const plans = new Map<string, Plan>();
  const act = (name: string) => async (args: { target?: string }) => {
    const calls = callsByTarget.get(String(args?.target));
    if (!calls) throw ApplicationFailure.nonRetryable(`no mocks for target ${args?.target}`);
    if (!name.endsWith('ResetLock')) calls.push(name);
    if (name === 'planReset') return plans.get(args.target!);
    if (name === 'backupDatabase')
      return {
        files: [{ database: 'primary', path: '/b/x.dump', bytes: 1, sha256: 'ab', tocEntries: 3 }],
        serverVersion: '15',
        pgDumpVersion: '15',
        createdAt: await now(),
      };
    return RESULTS[name];
  };
  const names = ['planReset', 'backupDatabase', ...Object.keys(RESULTS)];
  const activities = Object.fromEntries(names.map((n) => [n, act(n)])) as unknown as Activities;
  return { callsByTarget, plans, activities };
}
