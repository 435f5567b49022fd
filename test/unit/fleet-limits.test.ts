/**
 * A fleet's limits and input, as pure functions (workflows/fleet-limits.ts, fleet-input.ts): shares of
 * the targets and their rounding, canary batches, what maxFailures tolerates, and every refusal of a
 * fleet's input. Table-driven; no server.
 */
import { ApplicationFailure } from '@temporalio/common';
import { fleetWorkflowId, type Share } from '../../src/contract';
import { checkFleetInput } from '../../src/workflows/fleet-input';
import {
  batchSizes,
  DEFAULT_MAX_CONCURRENT,
  DEFAULT_MAX_FAILURES,
  isShare,
  resolveLimits,
  resolveShare,
} from '../../src/workflows/fleet-limits';

describe('shares', () => {
  test.each<[unknown, boolean]>([
    [0, true],
    [3, true],
    ['0%', true],
    ['25%', true],
    ['33.3%', true],
    ['100%', true],
    ['100.0%', true],
    ['100.5%', false],
    ['101%', false],
    [-1, false],
    [1.5, false],
    [Number.NaN, false],
    ['5', false],
    ['5 %', false],
    ['%', false],
    ['-5%', false],
    [null, false],
    [undefined, false],
    [[1], false],
  ])('isShare(%p) is %p', (v, ok) => expect(isShare(v)).toBe(ok));

  test.each<[Share, number, number]>([
    [3, 10, 3],
    [3, 2, 3], // a count is a count, even above the targets
    ['25%', 10, 2], // 2.5 rounds down
    ['25%', 3, 0],
    ['10%', 10, 1],
    ['10%', 9, 0],
    ['33.3%', 10, 3],
    ['50%', 7, 3],
    ['100%', 7, 7],
    ['0%', 7, 0],
    ['99%', 100, 99],
    ['99.9%', 1000, 999],
  ])('resolveShare(%p, %p) = %p', (v, total, n) => expect(resolveShare(v, total)).toBe(n));
});

describe('batches', () => {
  test.each<[Share[] | undefined, number, number[]]>([
    [undefined, 10, [10]],
    [[], 10, [10]],
    [undefined, 0, []],
    [[1, '25%', '100%'], 0, []],
    [[1, '25%', '100%'], 10, [1, 2, 7]],
    // 25% of 3 rounds down to 0: a batch is at least 1
    [[1, '25%', '100%'], 3, [1, 1, 1]],
    [[1, '25%', '100%'], 1, [1]],
    [[1, '25%', '100%'], 2, [1, 1]],
    [[1, '25%', '100%'], 100, [1, 25, 74]],
    // the last size repeats until every target had its turn
    [[1, '50%'], 10, [1, 5, 4]],
    [['25%'], 10, [2, 2, 2, 2, 2]],
    [['30%'], 10, [3, 3, 3, 1]],
    [[2], 5, [2, 2, 1]],
    [[20], 5, [5]],
    [['100%'], 5, [5]],
    [['1%'], 3, [1, 1, 1]],
  ])('%j over %p targets: %j', (given, total, sizes) => {
    const got = batchSizes(given, total);
    expect(got).toEqual(sizes);
    expect(got.reduce((a, n) => a + n, 0)).toBe(total);
  });
});

describe('limits', () => {
  test('defaults: one at a time, the first failure stops the fleet, one batch', () => {
    expect(DEFAULT_MAX_CONCURRENT).toBe(1);
    expect(DEFAULT_MAX_FAILURES).toBe(0);
    expect(resolveLimits(4, 6, {})).toEqual({
      targets: 4,
      databases: 6,
      maxConcurrent: 1,
      maxFailures: 0,
      batches: [4],
      given: { maxConcurrent: 1, maxFailures: 0 },
    });
  });

  test('shares resolve against the number of targets; the given values are kept for display', () => {
    expect(resolveLimits(10, 12, { maxConcurrent: '30%', maxFailures: '10%', batches: [1, '25%', '100%'] })).toEqual({
      targets: 10,
      databases: 12,
      maxConcurrent: 3,
      maxFailures: 1,
      batches: [1, 2, 7],
      given: { maxConcurrent: '30%', maxFailures: '10%', batches: [1, '25%', '100%'] },
    });
  });

  test.each<[Share, number, number]>([
    ['25%', 3, 1],
    ['0%', 10, 1],
    [0, 10, 1],
    ['50%', 1, 1],
    ['50%', 10, 5],
    [4, 10, 4],
  ])('maxConcurrent %p over %p targets: %p at once (at least 1)', (v, total, n) =>
    expect(resolveLimits(total, total, { maxConcurrent: v }).maxConcurrent).toBe(n),
  );

  // maxFailures is how many failures are TOLERATED: the fleet stops when failures exceed it.
  test.each<[Share, number, number, number]>([
    [0, 10, 0, 1],
    [2, 10, 2, 3],
    ['10%', 10, 1, 2],
    ['10%', 9, 0, 1],
    ['10%', 5, 0, 1],
    ['50%', 5, 2, 3],
    ['100%', 4, 4, 5],
  ])(
    'maxFailures %p over %p targets tolerates %p: failure number %p stops the fleet',
    (v, total, tolerated, stopsAt) => {
      const { maxFailures } = resolveLimits(total, total, { maxFailures: v });
      expect(maxFailures).toBe(tolerated);
      // The workflow's rule (fleet-batches.ts overThreshold): failures > maxFailures.
      const over = (failures: number) => failures > maxFailures;
      expect(over(stopsAt - 1)).toBe(false);
      expect(over(stopsAt)).toBe(true);
    },
  );
});

describe('fleet input', () => {
  const ID = fleetWorkflowId('staging');
  const ok = { name: 'staging', targets: ['a', 'b'] };

  test('a plan needs only a name and targets; defaults filled in', () => {
    expect(checkFleetInput(ok, 'plan-fleet-staging-x')).toEqual({
      ...ok,
      mode: 'plan',
      unattended: false,
      onChildPause: 'wait',
    });
  });

  test('an unattended run aborts a paused child by default, and may run under any id (a schedule appends the time)', () => {
    expect(
      checkFleetInput(
        { name: 'staging', group: 'staging', mode: 'execute', unattended: true },
        'scheduled-staging-2026-01-01T00:00:00Z',
      ),
    ).toMatchObject({
      mode: 'execute',
      unattended: true,
      onChildPause: 'abort',
    });
  });

  test('an execute run under its fleet id, with every field', () => {
    const full = {
      name: 'staging',
      group: 'staging',
      mode: 'execute',
      maxConcurrent: '50%',
      maxFailures: 1,
      batches: [1, '25%', '100%'],
      confirmation: 'staging',
      databases: 3,
      reason: 'weekly',
      approvalTimeout: '30m',
      onChildPause: 'abort',
      schedule: 'reset-schedule-staging',
    };
    expect(checkFleetInput(full, ID)).toEqual({ ...full, unattended: false });
  });

  test.each<[string, unknown, string, RegExp]>([
    ['not an object', 'staging', ID, /the input must be one JSON object/],
    ['null', null, ID, /the input must be one JSON object/],
    ['an array', [ok], ID, /the input must be one JSON object/],
    [
      'an unknown field',
      { ...ok, maxConcurent: 2 },
      ID,
      /unknown field "maxConcurent" \(known: name, targets, group, /,
    ],
    ['no name', { targets: ['a'] }, ID, /"name" \(the fleet's name\) must be lower-case letters/],
    ['a name with capitals', { ...ok, name: 'Staging' }, ID, /"name" \(the fleet's name\) must be/],
    [
      'neither targets nor group',
      { name: 'staging' },
      ID,
      /give "targets" \(a list of target names\) or "group" \(a group of the targets file\), not both/,
    ],
    ['both targets and group', { ...ok, group: 'staging' }, ID, /give "targets" .* not both/],
    ['targets not a list', { name: 'staging', targets: 'a' }, ID, /"targets" must be a non-empty list of target names/],
    ['an empty list of targets', { name: 'staging', targets: [] }, ID, /"targets" must be a non-empty list/],
    ['a bad target name', { name: 'staging', targets: ['a', 'B c'] }, ID, /"targets" must be a non-empty list/],
    [
      'a target twice',
      { name: 'staging', targets: ['a', 'b', 'a', 'b', 'c'] },
      ID,
      /"targets" names "a", "b" more than once/,
    ],
    ['a bad group name', { name: 'staging', group: 'Bad Group' }, ID, /"group" must be a group name/],
    ['a group that is not a string', { name: 'staging', group: 3 }, ID, /"group" must be a group name/],
    ['a bad mode', { ...ok, mode: 'run' }, ID, /"mode" must be "plan" or "execute"/],
    [
      'maxConcurrent not a share',
      { ...ok, maxConcurrent: '3' },
      ID,
      /"maxConcurrent" must be a whole number, or a percentage of the targets like "25%" \(at most 100%\)/,
    ],
    ['maxConcurrent above 100%', { ...ok, maxConcurrent: '150%' }, ID, /"maxConcurrent" must be a whole number/],
    ['maxConcurrent 0', { ...ok, maxConcurrent: 0 }, ID, /"maxConcurrent" must allow at least one child/],
    ['maxConcurrent 0%', { ...ok, maxConcurrent: '0%' }, ID, /"maxConcurrent" must allow at least one child/],
    ['maxFailures negative', { ...ok, maxFailures: -1 }, ID, /"maxFailures" must be a whole number/],
    ['maxFailures a fraction', { ...ok, maxFailures: 0.5 }, ID, /"maxFailures" must be a whole number/],
    [
      'batches not a list',
      { ...ok, batches: '25%' },
      ID,
      /"batches" must be a non-empty list of sizes, each .* and not 0, e\.g\. \[1, "25%", "100%"\]/,
    ],
    ['batches empty', { ...ok, batches: [] }, ID, /"batches" must be a non-empty list/],
    ['a batch of 0', { ...ok, batches: [1, 0] }, ID, /"batches" must be a non-empty list/],
    ['a batch that is no share', { ...ok, batches: [1, 'half'] }, ID, /"batches" must be a non-empty list/],
    ['confirmation not a string', { ...ok, confirmation: 1 }, ID, /"confirmation" must be a string/],
    ['reason not a string', { ...ok, reason: ['x'] }, ID, /"reason" must be a string/],
    ['schedule not a string', { ...ok, schedule: true }, ID, /"schedule" must be a string/],
    ['databases 0', { ...ok, databases: 0 }, ID, /"databases" must be a whole number > 0/],
    ['databases a string', { ...ok, databases: '3' }, ID, /"databases" must be a whole number > 0/],
    ['databases a fraction', { ...ok, databases: 1.5 }, ID, /"databases" must be a whole number > 0/],
    ['a bad approval timeout', { ...ok, approvalTimeout: 'tomorrow' }, ID, /"approvalTimeout" must be /],
    ['unattended not a boolean', { ...ok, unattended: 'yes' }, ID, /"unattended" must be true or false/],
    ['a bad onChildPause', { ...ok, onChildPause: 'retry' }, ID, /"onChildPause" must be "wait" or "abort"/],
    [
      'unattended waiting for a person',
      { ...ok, unattended: true, onChildPause: 'wait' },
      ID,
      /an unattended run cannot wait for a person: "onChildPause" must be "abort" \(or left out\)/,
    ],
    [
      'an execute run under another id',
      { ...ok, mode: 'execute' },
      'fleet-other',
      /a fleet run must have workflow id "fleet-staging" \(got "fleet-other"\)/,
    ],
  ])('%s is refused, nothing touched', (_, raw, workflowId, problem) => {
    let err: unknown;
    try {
      checkFleetInput(raw, workflowId);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f.type).toBe('BadInput');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/^Bad fleet input; nothing was touched: /);
    expect(f.message).toMatch(problem);
  });

  test('every problem is named at once', () => {
    const err = (() => {
      try {
        checkFleetInput({ name: 'Bad', targets: [], mode: 'x', databases: -1, extra: 1 }, ID);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message.replace(/^Bad fleet input; nothing was touched: /, '').split('; ')).toHaveLength(5);
  });

  test('the workflow id is checked only once the rest is right, and not for a plan or an unattended run', () => {
    expect(() => checkFleetInput({ ...ok, mode: 'execute', mode2: 1 }, 'x')).toThrow(
      /unknown field "mode2" \(known: [^;]*\)$/,
    );
    expect(() => checkFleetInput({ ...ok, mode: 'plan' }, 'x')).not.toThrow();
    expect(() => checkFleetInput({ ...ok, mode: 'execute', unattended: true }, 'x')).not.toThrow();
  });
});
