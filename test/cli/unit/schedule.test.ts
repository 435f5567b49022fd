import { runMain } from './run-main';
/**
 * Schedules without a server: the spec built from cron/interval/time zone/jitter, the sync diff
 * (what the file asks for against what Temporal has), the refusals of an unattended plan, rendering,
 * and the `schedule <verb>` parsing with its usage errors.
 *
 *   RR_NO_STACK=1 npx jest --runInBand test/cli/unit/schedule.test.ts
 */
import { parseCommandArgs, pickVerb } from '../../../src/cli/args';
import { COMMANDS } from '../../../src/cli/index';
import { refusalsOf } from '../../../src/cli/schedule/preflight';
import { renderScheduleDescription, renderScheduleList, renderSyncReport } from '../../../src/cli/schedule/render';
import {
  CATCHUP_WINDOW,
  cronProblem,
  scheduleDigest,
  scheduleOptions,
  ScheduleWhat,
  ScheduleWhen,
  unattendedPlanInput,
  whenProblems,
} from '../../../src/cli/schedule/spec';
import { desiredSchedules, diffSchedules, ExistingSchedule } from '../../../src/cli/schedule/sync';
import type { ScheduleView } from '../../../src/cli/schedule/view';
import { PLAIN } from '../../../src/cli/style';
import { targetsFileSchema } from '../../../src/config/schema';
import { type FleetResult, type FleetTarget, scheduleId } from '../../../src/contract';

const target: ScheduleWhat = { name: 'shop', resets: { target: 'shop' } };
const daily: ScheduleWhen = { cron: '0 5 * * *', timezone: 'Europe/Berlin', jitter: '5m', pauseOnFailure: true };

describe('spec', () => {
  test('cron: five fields, values in range, ranges, steps, lists and names', () => {
    for (const ok of ['0 5 * * *', '*/15 * * * *', '0 5 1-15/2 jan-mar mon-fri', '30 4,16 * * 0', '0 0 * * 7'])
      expect(cronProblem(ok)).toBeUndefined();
    expect(cronProblem('0 5 * *')).toMatch(/five fields/);
    expect(cronProblem('60 5 * * *')).toMatch(/^minute "60"/);
    expect(cronProblem('0 24 * * *')).toMatch(/^hour/);
    expect(cronProblem('0 5 0 * *')).toMatch(/^day-of-month/);
    expect(cronProblem('0 5 * 13 *')).toMatch(/^month/);
    expect(cronProblem('0 5 * * funday')).toMatch(/^day-of-week/);
    expect(cronProblem('0 5 * * */0')).toMatch(/^day-of-week/);
  });

  test('when: a cron or an interval, a known time zone, a duration of jitter; every problem at once', () => {
    expect(whenProblems(daily)).toEqual([]);
    expect(whenProblems({ every: '30s', pauseOnFailure: false })).toEqual([]);
    expect(whenProblems({ pauseOnFailure: false })).toEqual([expect.stringMatching(/give a cron .* or an interval/)]);
    expect(whenProblems({ cron: '0 5 * * *', every: '30s', pauseOnFailure: false })).toHaveLength(1);
    expect(
      whenProblems({ cron: '0 5 * * *', timezone: 'Mars/Olympus', jitter: 'soon', pauseOnFailure: false }),
    ).toEqual([
      expect.stringMatching(/^timezone: "Mars\/Olympus" is not an IANA time zone/),
      expect.stringMatching(/^jitter: "soon" is not a duration/),
    ]);
    expect(whenProblems({ every: '500ms', pauseOnFailure: false })).toEqual([
      expect.stringMatching(/^every: .*at least 1s/),
    ]);
  });

  test('ScheduleOptions: our id, an unattended resetFleet in mode execute, SKIP, a short catch-up window, our memo', () => {
    const o = scheduleOptions(target, daily, { taskQueue: 'q1', source: 'cli' });
    expect(o.scheduleId).toBe('reset-schedule-shop');
    expect(o.spec).toEqual({ cronExpressions: ['0 5 * * *'], timezone: 'Europe/Berlin', jitter: '5m' });
    expect(o.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'resetFleet',
      taskQueue: 'q1',
      workflowId: 'scheduled-shop',
      workflowTaskTimeout: '5s',
      args: [
        {
          name: 'shop',
          targets: ['shop'],
          mode: 'execute',
          unattended: true,
          onChildPause: 'abort',
          schedule: 'reset-schedule-shop',
        },
      ],
    });
    expect(o.policies).toEqual({ overlap: 'SKIP', catchupWindow: CATCHUP_WINDOW, pauseOnFailure: true });
    expect(o.memo).toEqual({
      managedBy: 'reset-runbook',
      source: 'cli',
      resets: { target: 'shop' },
      taskQueue: 'q1',
      specDigest: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(o.action.memo).toMatchObject({
      schedule: 'reset-schedule-shop',
      when: daily,
      specDigest: (o.memo as { specDigest: string }).specDigest,
    });

    const g = scheduleOptions(
      { name: 'eu', resets: { group: 'eu' }, maxConcurrent: '50%', batches: [1, '100%'] },
      { every: '30s', pauseOnFailure: false },
      { taskQueue: 'q1', source: 'targets-file' },
    );
    expect(g.spec).toEqual({ intervals: [{ every: '30s' }] });
    expect(g.action.args).toEqual([
      {
        name: 'eu',
        group: 'eu',
        mode: 'execute',
        unattended: true,
        onChildPause: 'abort',
        schedule: 'reset-schedule-eu',
        maxConcurrent: '50%',
        batches: [1, '100%'],
      },
    ]);
    expect(unattendedPlanInput(target)).toMatchObject({
      name: 'shop',
      targets: ['shop'],
      mode: 'plan',
      unattended: true,
    });
  });

  test('the digest changes with the spec, the policy, the input and the task queue, not with cron spacing', () => {
    const d = scheduleDigest(target, daily, 'q1');
    expect(scheduleDigest(target, { ...daily, cron: '0  5 * *  *' }, 'q1')).toBe(d);
    expect(scheduleDigest(target, { ...daily, cron: '0 6 * * *' }, 'q1')).not.toBe(d);
    expect(scheduleDigest(target, { ...daily, pauseOnFailure: false }, 'q1')).not.toBe(d);
    expect(scheduleDigest(target, daily, 'q2')).not.toBe(d);
    expect(scheduleDigest({ ...target, resets: { group: 'shop' } }, daily, 'q1')).not.toBe(d);
  });
});

describe('sync diff', () => {
  const file = targetsFileSchema().parse({
    targets: {
      a: { database: { urlEnv: 'A_DB' }, backup: { dir: '/b' }, schedule: { cron: '0 5 * * *' } },
      b: {
        database: { urlEnv: 'B_DB' },
        backup: { dir: '/b' },
        schedule: { cron: '0 6 * * *', timezone: 'Nowhere/Land' },
      },
      c: { database: { urlEnv: 'C_DB' }, backup: { dir: '/b' } },
    },
    groups: {
      both: { targets: ['a', 'c'], maxConcurrent: 2, schedule: { cron: '0 7 * * 1', pauseOnFailure: true } },
      plain: ['a'],
    },
  });

  test('the file: a schedule per block (targets, then groups with their limits), read without the environment', () => {
    const d = desiredSchedules(file, 'q');
    expect(d.map((x) => [x.name, x.what.resets])).toEqual([
      ['a', { target: 'a' }],
      ['b', { target: 'b' }],
      ['both', { group: 'both' }],
    ]);
    expect(d[0].when).toEqual({ cron: '0 5 * * *', pauseOnFailure: false });
    expect(d[1].problems).toEqual([expect.stringMatching(/^timezone: "Nowhere\/Land"/)]);
    expect(d[2].what).toEqual({ name: 'both', resets: { group: 'both' }, maxConcurrent: 2 });
  });

  test('create, update, unchanged, delete, conflict and refused', () => {
    const desired = desiredSchedules(file, 'q');
    const [a, , both] = desired;
    const existing: ExistingSchedule[] = [
      { name: 'a', scheduleId: scheduleId('a'), source: 'targets-file', digest: a.digest },
      { name: 'both', scheduleId: scheduleId('both'), source: 'targets-file', digest: 'old' },
      { name: 'gone', scheduleId: scheduleId('gone'), source: 'targets-file', digest: 'x' },
      { name: 'mine', scheduleId: scheduleId('mine'), source: 'cli', digest: 'y' },
    ];
    const diff = diffSchedules(desired, existing, scheduleId);
    expect(diff.map((e) => [e.name, e.kind])).toEqual([
      ['a', 'unchanged'],
      ['b', 'refused'],
      ['both', 'update'],
      ['gone', 'delete'],
    ]);
    expect(both.digest).not.toBe('old');
    // A schedule made by `schedule create` is never touched; the file wanting its name is a conflict.
    const conflict = diffSchedules([{ ...a, name: 'mine' }], existing, scheduleId);
    expect(conflict.find((e) => e.name === 'mine')).toMatchObject({
      kind: 'conflict',
      reasons: [expect.stringMatching(/schedule create/)],
    });
    const foreign = diffSchedules([a], [{ name: 'a', scheduleId: scheduleId('a') }], scheduleId);
    expect(foreign[0]).toMatchObject({
      kind: 'conflict',
      reasons: [expect.stringMatching(/not a schedule of reset-runbook/)],
    });
    expect(diffSchedules([a], [], scheduleId)[0].kind).toBe('create');
  });
});

describe('the unattended plan refuses', () => {
  const t = (target: string, plan: Partial<NonNullable<FleetTarget['plan']>> | undefined): FleetTarget => ({
    target,
    status: 'planned',
    workflowId: `reset-${target}`,
    batch: 1,
    plan: plan && {
      databaseName: target,
      databases: 1,
      tablesToTruncate: 1,
      rowsToTruncate: 1,
      objectsToDelete: 0,
      warnings: [],
      errors: [],
      ...plan,
    },
  });
  const result = (targets: FleetTarget[], over: Partial<FleetResult> = {}): FleetResult => ({
    name: 'x',
    mode: 'plan',
    outcome: 'planned',
    endReason: 'planned',
    targets,
    totals: {
      targets: targets.length,
      completed: 0,
      failed: 0,
      aborted: 0,
      notStarted: 0,
      running: 0,
      waiting: 0,
      workersStillStopped: 0,
    },
    ...over,
  });
  test('a target that needs a person, plan errors, a failed plan; nothing for a clean plan', () => {
    expect(refusalsOf(result([t('a', {})]))).toEqual([]);
    expect(
      refusalsOf(result([t('a', { ownApproval: 'environment "production"' }), t('b', { errors: ['no such table'] })])),
    ).toEqual(['a: would need a person: environment "production"', 'b: plan error: no such table']);
    expect(
      refusalsOf(result([], { outcome: 'failed', endReason: 'planFailed', message: 'unknown target "zz"' })),
    ).toEqual(['the plan ended "planFailed": unknown target "zz"']);
    expect(refusalsOf(undefined, 'Bad fleet input')).toEqual(['the plan run failed: Bad fleet input']);
  });
});

describe('rendering', () => {
  const view: ScheduleView = {
    name: 'shop',
    scheduleId: 'reset-schedule-shop',
    source: 'cli',
    resets: { target: 'shop' },
    when: daily,
    paused: true,
    note: 'paused after a failed run',
    overlap: 'SKIP',
    catchupWindowMs: 600_000,
    pauseOnFailure: true,
    nextRuns: ['2030-01-02T04:00:00.000Z'],
    recent: [
      {
        scheduledAt: '2030-01-01T04:00:00.000Z',
        takenAt: '2030-01-01T04:00:01.000Z',
        workflowId: 'scheduled-shop-2030-01-01T04:00:00Z',
        runId: 'r1',
        status: 'FAILED',
        outcome: 'rejected',
        endReason: 'refused',
        message: 'refused; nothing was touched',
      },
    ],
    running: [],
    actionsTaken: 1,
    missedCatchupWindow: 0,
    skippedOverlap: 0,
    createdAt: '2030-01-01T00:00:00.000Z',
  };
  test('describe: spec, state and note, policies, recent runs with how they ended; a paused one says how to go on', () => {
    const text = renderScheduleDescription(view, PLAIN);
    expect(text).toContain('cron "0 5 * * *" (Europe/Berlin), jitter 5m, pauses on failure');
    expect(text).toContain('PAUSED  note: paused after a failed run');
    expect(text).toContain('overlap SKIP, catch-up window 10m00s');
    expect(text).toMatch(
      /2030-01-01 04:00:00Z {2}rejected \(refused\) {2}scheduled-shop-.* {2}refused; nothing was touched/,
    );
    expect(text).toContain('reset-runbook schedule unpause shop');
  });
  test('list: one line per schedule; none: how to make one', () => {
    expect(renderScheduleList([view], PLAIN).split('\n')[1]).toMatch(
      /^shop +target shop +paused +cli +cron "0 5 \* \* \*"/,
    );
    expect(renderScheduleList([], PLAIN)).toMatch(/schedule create/);
  });
  test('sync report: one line per schedule with its reasons, the totals worded for a dry run or not', () => {
    const [a, b] = desiredSchedules(
      targetsFileSchema().parse({
        targets: {
          a: { database: { urlEnv: 'X' }, backup: { dir: '/b' }, schedule: { cron: '0 5 * * *' } },
          b: { database: { urlEnv: 'X' }, backup: { dir: '/b' }, schedule: { cron: '0 5 * * *' } },
        },
      }),
      'q',
    );
    const entries = diffSchedules([a, b], [{ name: 'b', scheduleId: scheduleId('b'), source: 'cli' }], scheduleId);
    const dry = renderSyncReport(entries, { dryRun: true, file: 't.json' }, PLAIN);
    expect(dry).toContain('Would sync the schedules of t.json:');
    expect(dry).toMatch(/create {5}a {2}target a {2}cron "0 5 \* \* \*" \(UTC\)/);
    expect(dry).toMatch(/CONFLICT {3}b/);
    expect(dry).toContain('1 to create, 0 to update, 0 to delete, 0 unchanged, 1 conflict(s), 0 refused');
    expect(renderSyncReport(entries, { dryRun: false, file: 't.json' }, PLAIN)).toContain(
      '1 created, 0 updated, 0 deleted',
    );
  });
});

describe('schedule <verb>', () => {
  const schedule = COMMANDS.find((c) => c.name === 'schedule')!;
  test('the verb picks its own spec; a missing or unknown verb is a usage error', () => {
    const p = pickVerb(schedule, ['create', 'shop', '--cron', '0 5 * * *'])!;
    expect(p.verb.name).toBe('schedule create');
    expect(parseCommandArgs(p.verb, p.rest).args).toEqual({ name: 'shop' });
    expect(() => pickVerb(schedule, [])).toThrow(/missing <verb>/);
    expect(() => pickVerb(schedule, ['frob'])).toThrow(/unknown verb "frob"/);
    expect(pickVerb(schedule, ['--help'])).toBeUndefined();
    expect(
      pickVerb(
        COMMANDS.find((c) => c.name === 'plan')!,
        ['x'],
      ),
    ).toBeUndefined();
  });
  test('bad cron, time zone, jitter and group-only flags: exit 2 before any connection', async () => {
    const r = await runMain(['schedule', 'create', 'shop', '--cron', '0 5 * *', '--timezone', 'Mars/X', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error).toMatch(/--cron: expected five fields.*--timezone: "Mars\/X"/);
    expect((await runMain(['schedule', 'create', 'shop', '--every', '30s', '--max-concurrent', '2'])).err).toMatch(
      /add --group/,
    );
    expect((await runMain(['schedule', 'create', 'shop', '--every', '30s', '--group', '--batches', '1,x'])).code).toBe(
      2,
    );
    expect((await runMain(['schedule', 'sync'])).err).toMatch(/--file <targets file> or set RESET_RUNBOOK_TARGETS/);
    const h = await runMain(['schedule', '--help']);
    expect(h.code).toBe(0);
    for (const v of ['create', 'list', 'describe', 'pause', 'unpause', 'trigger', 'delete', 'sync'])
      expect(h.out).toContain(`  ${v} `);
  });
});
