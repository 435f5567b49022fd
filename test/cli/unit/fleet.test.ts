import { runMain as runMainIn } from './run-main';
/**
 * The fleet verbs without a server: argument parsing (shares, batches, targets, the FleetInput),
 * the command group's dispatch and usage errors, the renderers on fixed fleet states, exit codes.
 */
import { UsageError } from '../../../src/cli/errors';
import { EXIT } from '../../../src/cli/exit-codes';
import { fleetIdCandidates, fleetInput, parseBatches, parseShare, parseTargets } from '../../../src/cli/fleet-args';
import { fleetChangeLines } from '../../../src/cli/fleet-live';
import { renderFleetEnding, renderFleetPlan, renderFleetView, totalsLine } from '../../../src/cli/fleet-render';
import { fleetExitCode, fleetJson } from '../../../src/cli/fleet-snapshot';
import { AWAITING, ENDED, LIMITS, PLANNED, RUNNING, snap } from './fleet-fixtures';

const NOW = new Date('2026-12-03T12:05:00Z');

describe('fleet arguments', () => {
  test('a share is a count or a percentage of the targets', () => {
    expect(parseShare('3', 'x')).toBe(3);
    expect(parseShare('25%', 'x')).toBe('25%');
    expect(parseShare('12.5%', 'x')).toBe('12.5%');
    expect(parseShare('0', '--max-failures', 0)).toBe(0);
    expect(parseShare('0%', '--max-failures', 0)).toBe('0%');
    expect(() => parseShare('110%', '--max-concurrent')).toThrow(
      new UsageError('--max-concurrent: "110%" is more than 100% of the targets'),
    );
    expect(() => parseShare('abc', '--max-failures', 0)).toThrow(
      new UsageError('--max-failures: "abc" is not a count (e.g. 3) or a share of the targets (e.g. 25%)'),
    );
    expect(() => parseShare('0', '--max-concurrent')).toThrow(/at least 1/);
    expect(() => parseShare('0%', '--max-concurrent')).toThrow(/less than one target/);
    expect(() => parseShare('-1', 'x')).toThrow(UsageError);
    expect(() => parseShare('1.5', 'x')).toThrow(UsageError);
  });

  test('batches and targets are comma lists', () => {
    expect(parseBatches('1,25%,100%')).toEqual([1, '25%', '100%']);
    expect(parseBatches(' 2 , 50% ')).toEqual([2, '50%']);
    expect(() => parseBatches('1,,2')).toThrow(/--batches/);
    expect(() => parseBatches('1,150%')).toThrow(/more than 100%/);
    expect(parseTargets('a,b-1,c_2')).toEqual(['a', 'b-1', 'c_2']);
    expect(() => parseTargets('a,Bad!')).toThrow(/target "Bad!"/);
    expect(() => parseTargets('a,a')).toThrow(/"a" is listed twice/);
    expect(() => parseTargets('a,')).toThrow(/--targets/);
  });

  test('the FleetInput of plan and start', () => {
    expect(
      fleetInput(
        'nightly',
        {
          group: 'staging',
          'max-concurrent': '50%',
          'max-failures': '1',
          batches: '1,100%',
          reason: 'weekly',
          'approval-timeout': '30m',
          'on-child-pause': 'abort',
        },
        'execute',
      ),
    ).toEqual({
      name: 'nightly',
      mode: 'execute',
      group: 'staging',
      maxConcurrent: '50%',
      maxFailures: 1,
      batches: [1, '100%'],
      reason: 'weekly',
      approvalTimeout: '30m',
      onChildPause: 'abort',
    });
    expect(fleetInput('n', { targets: 'a,b', confirm: 'n', databases: '3' }, 'execute')).toEqual({
      name: 'n',
      mode: 'execute',
      targets: ['a', 'b'],
      confirmation: 'n',
      databases: 3,
    });
    // plan takes no confirmation: a plan changes nothing.
    expect(fleetInput('n', { targets: 'a' }, 'plan')).toEqual({ name: 'n', mode: 'plan', targets: ['a'] });
  });

  test('usage errors before anything is started', () => {
    const bad = (name: string, opts: Record<string, string>) => () => fleetInput(name, opts, 'execute');
    expect(bad('n', { targets: 'a', group: 'g' })).toThrow(
      new UsageError('give exactly one of --targets a,b,c or --group <name>'),
    );
    expect(bad('n', {})).toThrow(/exactly one of --targets/);
    expect(bad('Nightly!', { targets: 'a' })).toThrow(/fleet name "Nightly!"/);
    expect(bad('n', { group: 'G G' })).toThrow(/--group "G G"/);
    expect(bad('n', { targets: 'a', confirm: 'n' })).toThrow(/go together/);
    expect(bad('n', { targets: 'a', databases: '2' })).toThrow(/go together/);
    expect(bad('n', { targets: 'a', confirm: 'other', databases: '2' })).toThrow(/not the fleet's name/);
    expect(bad('n', { targets: 'a', confirm: 'n', databases: 'two' })).toThrow(/--databases/);
    expect(bad('n', { targets: 'a', 'approval-timeout': 'soon' })).toThrow(/--approval-timeout/);
    expect(bad('n', { targets: 'a', 'on-child-pause': 'retry' })).toThrow(/wait or abort/);
  });

  test('a fleet is named by its name or its workflow id', () => {
    expect(fleetIdCandidates('nightly')).toEqual(['fleet-nightly']);
    expect(fleetIdCandidates('fleet-nightly')).toEqual(['fleet-nightly', 'fleet-fleet-nightly']);
    expect(fleetIdCandidates('plan-fleet-nightly-20261203T120000')).toEqual(['plan-fleet-nightly-20261203T120000']);
  });
});

describe('the fleet command group', () => {
  // No server at this address: a usage error must come before any connection is tried.
  const runMain = (argv: string[]) => runMainIn(argv, { TEMPORAL_ADDRESS: '127.0.0.1:1' });

  test('verbs, help and usage errors exit 2 without connecting', async () => {
    expect((await runMain(['fleet'])).err).toContain('fleet: missing <verb>');
    const unknown = await runMain(['fleet', 'launch', 'x']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.err).toContain('verbs: plan, start, status, follow, approve, abort');
    const both = await runMain(['fleet', 'start', 'n', '--targets', 'a', '--group', 'g', '--json']);
    expect(both.code).toBe(EXIT.usage);
    expect(JSON.parse(both.out)).toMatchObject({
      error: 'give exactly one of --targets a,b,c or --group <name>',
      exitCode: 2,
    });
    expect((await runMain(['fleet', 'plan', 'n', '--targets', 'a', '--max-concurrent', '110%'])).code).toBe(EXIT.usage);
    expect((await runMain(['fleet', 'start', 'n', '--group', 'g', '--bogus'])).code).toBe(EXIT.usage);
    expect((await runMain(['fleet', 'status'])).err).toContain('fleet status: missing <fleet>');
    const help = await runMain(['fleet', 'start', '--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.out).toContain('usage: reset-runbook fleet start <fleet> [options]');
    expect(help.out).toContain('--max-concurrent <n|p%>');
    expect((await runMain(['fleet', '--help'])).out).toContain('status|follow|approve|abort <fleet>');
    expect((await runMain(['--help'])).out).toContain('  fleet        Reset many targets');
  });
});

describe('fleet renderers', () => {
  test('the plan: one line per target, the totals, the limits, warnings', () => {
    expect(renderFleetPlan('nightly', PLANNED, LIMITS).split('\n')).toEqual([
      'Plan for fleet "nightly": 3 targets, 4 databases',
      '  target  database      environment  tables   rows  objects  own approval                       batch',
      '  ──────  ────────────  ───────────  ──────  ─────  ───────  ─────────────────────────────────  ─────',
      '  alpha   rr_alpha      staging          12  1,234       40  no (the fleet approval covers it)      1',
      '  beta    rr_beta (+1)  staging          12     10       40  no (the fleet approval covers it)      2',
      '  gamma   rr_gamma      production        3      0        0  yes: environment "production"          2',
      '  total: 3 targets, 4 databases, 27 tables and 1,244 rows to truncate, 80 objects to delete',
      '  max concurrent 2, max failures 0, batches 1 + 2 (given 1,100%)',
      '  ! beta: large table events',
    ]);
  });

  test('a plan error is said at the end of the plan', () => {
    const broken = [{ ...PLANNED[0], plan: { ...PLANNED[0].plan!, errors: ['no backup dir'] } }];
    const text = renderFleetPlan('n', broken, undefined);
    expect(text).toContain('  ✖ alpha: no backup dir');
    expect(text).toContain('1 target(s) with plan errors: the fleet would stop there');
  });

  test('waiting for the fleet approval', () => {
    const text = renderFleetView(snap({ progress: AWAITING }), NOW);
    expect(text).toContain('  fleet nightly   mode execute   RUNNING / awaiting-approval   elapsed 5m00s');
    expect(text).toContain('  3 targets: 3 planned');
    expect(text).toContain(
      '  WAITING FOR THE FLEET APPROVAL of 4 databases since 2026-12-03 12:00:00Z, deadline 2026-12-04 12:00:00Z',
    );
    expect(text).toContain(
      '  approve: reset-runbook fleet approve nightly    abort: reset-runbook fleet abort nightly',
    );
    const rejected = renderFleetView(
      snap({
        progress: { ...AWAITING, approval: { ...AWAITING.approval!, rejected: 'databases 3 does not match the plan' } },
      }),
      NOW,
    );
    expect(rejected).toContain('an approval was refused: databases 3 does not match the plan');
  });

  test('running: one line per target with its step, and what a child waits for', () => {
    const lines = renderFleetView(snap({ progress: RUNNING }), NOW).split('\n');
    expect(lines).toEqual([
      'fleet-nightly  run-1',
      '  fleet nightly   mode execute   RUNNING / running   batch 2/2   elapsed 5m00s',
      '',
      '     target  status             step      detail',
      '  ─  ──────  ─────────────────  ────────  ──────────────────────────',
      '  ✔  alpha   completed                    completed',
      '  ▶  beta    running            backup    pg_dump rr_beta',
      '  ⏸  gamma   awaiting-approval  approval  waits for its own approval',
      '  3 targets: 1 completed, 1 running, 1 waiting',
      '  gamma waits for its own approval: reset-runbook approve reset-gamma',
    ]);
  });

  test('the ending: every target, the totals, undo commands, the workers left stopped first', () => {
    expect(renderFleetEnding(ENDED).split('\n')).toEqual([
      'Fleet "nightly": failed (workersStillStopped)',
      '  WORKERS ARE STILL STOPPED since 2026-12-03T12:01:00Z for target "beta" — start them by hand: sudo systemctl start solid_queue',
      '  1 target(s) left their workers STOPPED: start them by hand (see each run); 1 of 3 completed, 1 failed, 0 aborted, 1 not started',
      '     target  outcome      end reason           workers        detail',
      '  ─  ──────  ───────────  ───────────────────  ─────────────  ─────────────────────────────────────',
      '  ✔  alpha   completed    completed            running        completed',
      '  ✖  beta    failed       workersStillStopped  STILL STOPPED  WORKERS ARE STILL STOPPED',
      '  –  gamma   not-started  notStarted           -              not started: batch 1 did not complete',
      '  3 targets: 1 completed, 1 failed, 1 not started; 1 with workers STILL STOPPED in 2m05s',
      '  alpha: the TRUNCATE committed. Undo with: reset-runbook restore alpha --run r1',
      '  beta: the TRUNCATE committed. Undo with: reset-runbook restore beta --run r2',
    ]);
    const done: typeof ENDED = {
      ...ENDED,
      outcome: 'completed',
      endReason: 'completed',
      message: undefined,
      targets: [ENDED.targets[0]],
      totals: { ...ENDED.totals, targets: 1, failed: 0, notStarted: 0, workersStillStopped: 0 },
    };
    expect(renderFleetEnding(done).split('\n')[0]).toBe('Fleet "nightly": completed');
    expect(totalsLine(done.totals)).toBe('1 targets: 1 completed');
  });

  test('piped follow: one line per change', () => {
    expect(fleetChangeLines(snap({ progress: AWAITING }), snap({ progress: RUNNING }), NOW)).toEqual([
      '[12:05:00Z] fleet nightly: running (batch 2/2)',
      '[12:05:00Z] alpha: completed',
      '[12:05:00Z] beta: running, step backup running: pg_dump rr_beta',
      '[12:05:00Z] gamma: awaiting-approval, step approval: waits for its own approval',
    ]);
    expect(fleetChangeLines(undefined, snap({ progress: AWAITING }), NOW)).toEqual([
      '[12:05:00Z] fleet nightly: awaiting-approval',
      '[12:05:00Z] WAITING FOR THE FLEET APPROVAL of 4 databases: reset-runbook fleet approve nightly',
    ]);
    const ended = fleetChangeLines(
      snap({ progress: RUNNING }),
      snap({ status: 'FAILED', result: ENDED, progress: { ...RUNNING, phase: 'failed', targets: ENDED.targets } }),
      NOW,
    );
    expect(ended).toContain(
      '[12:05:00Z] WORKERS ARE STILL STOPPED since 2026-12-03T12:01:00Z for target "beta" — start them by hand: sudo systemctl start solid_queue',
    );
    expect(ended[ended.length - 1]).toBe('[12:05:00Z] fleet failed');
  });
});

describe('fleet exit codes and JSON', () => {
  test('as for one run: 3 waiting (the fleet or a child), 4 running, 0 completed, 1 failed, 7 workers still stopped', () => {
    expect(fleetExitCode(snap({ progress: AWAITING }))).toBe(EXIT.waiting);
    expect(fleetExitCode(snap({ progress: RUNNING }))).toBe(EXIT.waiting);
    const busy = { ...RUNNING, targets: RUNNING.targets.slice(0, 2) };
    expect(fleetExitCode(snap({ progress: busy }))).toBe(EXIT.running);
    expect(fleetExitCode(snap({ noWorker: true }))).toBe(EXIT.waiting);
    expect(fleetExitCode(snap({ status: 'FAILED', result: ENDED }))).toBe(EXIT.workersStopped);
    const completed = {
      ...ENDED,
      outcome: 'completed' as const,
      endReason: 'completed' as const,
      targets: [ENDED.targets[0]],
    };
    expect(fleetExitCode(snap({ status: 'COMPLETED', result: completed }))).toBe(EXIT.ok);
    const aborted = { ...completed, outcome: 'aborted' as const, endReason: 'aborted' as const };
    expect(fleetExitCode(snap({ status: 'FAILED', result: aborted }))).toBe(EXIT.failed);
    const planned = {
      ...completed,
      mode: 'plan' as const,
      outcome: 'planned' as const,
      endReason: 'planned' as const,
      targets: PLANNED,
    };
    expect(fleetExitCode(snap({ status: 'COMPLETED', result: planned }))).toBe(EXIT.ok);
    const brokenPlan = { ...planned, targets: [{ ...PLANNED[0], plan: { ...PLANNED[0].plan!, errors: ['x'] } }] };
    expect(fleetExitCode(snap({ status: 'COMPLETED', result: brokenPlan }))).toBe(EXIT.failed);
    expect(fleetExitCode(snap({ status: 'TERMINATED' }))).toBe(EXIT.failed);
  });

  test('--json: one object with the targets, totals and the exit code', () => {
    const j = fleetJson(snap({ status: 'FAILED', result: ENDED, closeTime: '2026-12-03T12:02:05.000Z' }));
    expect(j).toMatchObject({
      workflowId: 'fleet-nightly',
      kind: 'fleet',
      name: 'nightly',
      status: 'FAILED',
      outcome: 'failed',
      endReason: 'workersStillStopped',
      workersStillStopped: ['beta'],
      exitCode: 7,
    });
    expect(j.targets).toHaveLength(3);
    expect(fleetJson(snap({ progress: AWAITING })).approval).toEqual(AWAITING.approval);
  });
});
