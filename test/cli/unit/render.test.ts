import { type Plan, type ResetResult, type StepState, formatBytes } from '../../../src/contract';
import { formatCount, formatDuration, visibleLength } from '../../../src/cli/format';
import { progressBar, renderSteps, table } from '../../../src/cli/render';
import { renderEnding, renderResult, renderRunList, unknownTargetRefusal } from '../../../src/cli/render-ending';
import { renderPlan } from '../../../src/cli/render-plan';
import { renderView } from '../../../src/cli/render-view';
import { asHeartbeatProgress, decodeHeartbeat, RateTracker } from '../../../src/cli/snapshot';
import { exitCodeFor } from '../../../src/cli/snapshot-exit';
import type { Snapshot } from '../../../src/cli/snapshot-model';
import { summarizePollers } from '../../../src/cli/snapshot-pollers';
import { changeLines, noWorkerNote } from '../../../src/cli/live';
import { resolveTarget, type ActivityDeps } from '../../../src/activities/lib/target';
import type { ApplicationFailure } from '@temporalio/common';
import { ANSI } from '../../../src/cli/style';
import { defaultPayloadConverter } from '@temporalio/common';

const plan: Plan = {
  target: 'demo',
  databaseName: 'phonefin_production',
  environment: 'production',
  strategy: 'replant',
  highRisk: false,
  tables: [
    { database: 'primary', schema: 'public', table: 'customers', rows: 20, action: 'truncate' },
    { database: 'primary', schema: 'public', table: 'installments', rows: 1620, action: 'truncate' },
    { database: 'primary', schema: 'public', table: 'schema_migrations', rows: 9, action: 'keep' },
  ],
  foreignKeys: [],
  blobs: { count: 39, bytes: 1946 },
  objectsToDelete: { count: 44, bytes: 2570 },
  workersAlive: 2,
  claimedExecutions: 1,
  pgDumpVersion: '15.18',
  serverVersion: '15.18',
  databaseBytes: 10 * 1024 * 1024,
  backupDirFreeBytes: 80 * 1024 ** 3,
  warnings: ['2 workers alive: they will be stopped'],
  errors: [],
  digest: 'abcdef0123456789',
  createdAt: '2026-11-26T15:00:00.000Z',
} as unknown as Plan;

describe('formatters', () => {
  test('bytes, counts, durations', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10.0 MiB');
    expect(formatBytes(300 * 1024 ** 3)).toBe('300 GiB');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_300)).toBe('12s');
    expect(formatDuration(5_500)).toBe('5.5s');
    expect(formatDuration(185_000)).toBe('3m05s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
    expect(formatDuration(undefined)).toBe('-');
  });

  test('table pads columns to the widest cell, ignoring ANSI colour', () => {
    const t = table(
      ['a', 'n'],
      [
        [ANSI.green('xx'), '1'],
        ['yyyy', '100'],
      ],
      { align: ['left', 'right'] },
    );
    // eslint-disable-next-line no-control-regex -- ESC is exactly what an ANSI colour code starts with
    const lines = t.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(lines).toEqual(['  a       n', '  ────  ───', '  xx      1', '  yyyy  100']);
  });
});

describe('progress bars', () => {
  test('bytes with total, rate and ETA', () => {
    const s = progressBar({
      label: 'backup',
      progress: { unit: 'bytes', done: 512 * 1024 ** 2, total: 1024 ** 3 },
      rate: 64 * 1024 ** 2,
      width: 10,
    });
    expect(s).toBe('backup      [█████░░░░░]   50%  512 MiB / 1.00 GiB  64.0 MiB/s  ETA 8.0s');
  });
  test('objects without total shows the count only', () => {
    const s = progressBar({ label: 'purge', progress: { unit: 'objects', done: 1200 }, width: 4 });
    expect(s).toBe('purge       [····]     ?  1,200 objects');
  });
  test('never over 100%', () => {
    expect(progressBar({ label: 'x', progress: { unit: 'objects', done: 12, total: 10 }, width: 4 })).toContain(
      '[████]  100%',
    );
  });
});

describe('plan and result', () => {
  test('the plan lists tables emptied (most rows first), tables kept, storage, workers, warnings', () => {
    const text = renderPlan(plan);
    expect(text).toContain('Plan for target "demo"');
    expect(text).toContain('database:            phonefin_production  (environment: production)');
    expect(text).toMatch(
      /Tables emptied \(2 tables, 1,640 rows dropped\)[\s\S]*installments\s+1,620[\s\S]*customers\s+20/,
    );
    expect(text).toMatch(/Tables kept \(1\)[\s\S]*schema_migrations\s+9/);
    expect(text).toContain('objects to delete:   44 (2.51 KiB)');
    expect(text).toContain('workers alive:       2');
    expect(text).toContain('! 2 workers alive: they will be stopped');
    expect(text).not.toContain('Errors');
    expect(renderPlan({ ...plan, errors: ['pg_dump 14 is older than the server 15'] })).toContain(
      'Errors (1): a reset would stop here',
    );
  });

  test('the plan says what becomes of the workers after the reset and if the run fails', () => {
    const base = { workersConfigured: true, restartBudgetSeconds: 300 } as Plan['settings'];
    const start = renderPlan({ ...plan, settings: { ...base, startWorkersAtEnd: true } });
    expect(start).toContain('after the reset:     started again (step 5)');
    expect(start).toContain('if the run fails:    started again within 300 s (workers.restartBudgetSeconds)');
    expect(renderPlan({ ...plan, settings: { ...base, startWorkersAtEnd: false } })).toContain(
      'after the reset:     left stopped, as they were',
    );
    expect(renderPlan({ ...plan, settings: { ...base, workersConfigured: false } })).toContain(
      'managed:             no (no workers configured for this target)',
    );
  });

  test('a result shows outcome, backup, storage, verify lines', () => {
    const r: ResetResult = {
      target: 'demo',
      mode: 'execute',
      outcome: 'completed',
      backup: {
        files: [{ database: 'primary', path: '/b/x.dump', bytes: 2048, sha256: 'f'.repeat(64), tocEntries: 242 }],
        serverVersion: '15',
        pgDumpVersion: '15',
        createdAt: '',
      },
      objectsDeleted: { count: 44, bytes: 2570, errors: 0 },
      verify: {
        ok: true,
        lines: [{ label: 'Users', table: 'users', database: 'primary', expected: '6', actual: 6, ok: true }],
        report: '',
        hints: [],
      },
    };
    const text = renderResult(r);
    expect(text).toContain('Reset of "demo": completed');
    expect(text).toContain('backup (primary): /b/x.dump (2.00 KiB');
    expect(text).toContain('backup proof: checked with pg_restore --list only: not proven restorable');
    expect(text).toContain('storage: 44 objects deleted (2.51 KiB)');
    expect(text).toMatch(/✔\s+Users\s+6\s+6/);
  });

  test("the purge's already-gone and missing counts show beside the deleted ones; a restore's lost files in red", () => {
    const r: ResetResult = {
      target: 'demo',
      mode: 'execute',
      outcome: 'completed',
      objectsDeleted: { count: 40, bytes: 2570, errors: 0, alreadyGone: 3, missing: 1, missingSample: ['s3://app/k1'] },
    };
    const text = renderResult(r, ANSI);
    expect(text).toContain('storage: 40 objects deleted (2.51 KiB), 3 already gone (removed by an earlier attempt)');
    // With untracked variants among them (the plan counted blobs only), the line says how many.
    expect(renderResult({ ...r, objectsDeleted: { ...r.objectsDeleted!, variants: 5 } })).toContain(
      'storage: 40 objects deleted (2.51 KiB; 5 of them untracked variants), 3 already gone',
    );
    expect(text).toContain(
      ANSI.yellow('  storage: 1 file(s) were missing before the reset (blob rows without a file), e.g. s3://app/k1'),
    );
    const restore = {
      target: 'demo',
      outcome: 'completed',
      restored: { tables: 3, rows: 10 },
      objectsRestored: { count: 40, bytes: 2570 },
      objectsMissing: 4,
    };
    const shown = renderResult(restore as unknown as ResetResult, ANSI);
    expect(shown).toContain('storage: 40 objects brought back');
    expect(shown).toContain(
      ANSI.red('  storage: 4 purged file(s) did not come back: their blob rows point at missing files'),
    );
    expect(renderResult({ ...restore, objectsMissing: undefined } as unknown as ResetResult, ANSI)).not.toContain(
      'did not come back',
    );
  });

  test('an execute result always says whether the workers run', () => {
    const r: ResetResult = { target: 'demo', mode: 'execute', outcome: 'completed', endReason: 'completed' };
    expect(renderResult({ ...r, workers: { status: 'running' } })).toContain(
      'Solid Queue workers: running (started again by this run)',
    );
    expect(renderResult({ ...r, workers: { status: 'left-stopped' } })).toContain(
      'Solid Queue workers: stopped, as they were before the reset',
    );
    expect(
      renderResult({ ...r, outcome: 'aborted', endReason: 'aborted', workers: { status: 'untouched' } }),
    ).toContain('Solid Queue workers: not stopped by this run');
  });
});

const steps: StepState[] = [
  {
    name: 'plan',
    title: '0 Plan',
    status: 'done',
    attempts: 1,
    startedAt: '2026-11-26T15:00:00Z',
    endedAt: '2026-11-26T15:00:01.500Z',
    detail: 'ok',
  },
  {
    name: 'backup',
    title: '1 Backup the database',
    status: 'waiting-for-operator',
    attempts: 3,
    startedAt: '2026-11-26T15:00:02Z',
    endedAt: '2026-11-26T15:00:32Z',
    error: 'disk full',
  },
  { name: 'approval', title: 'Approval', status: 'pending', attempts: 0 },
];

function snap(over: Partial<Snapshot> = {}): Snapshot {
  return {
    workflowId: 'reset-demo',
    runId: 'r1',
    workflowType: 'productionDataReset',
    status: 'RUNNING',
    startTime: '2026-11-26T15:00:00Z',
    activities: [],
    pollers: {
      taskQueue: 'reset-runbook',
      workflowPollers: 1,
      activityPollers: 1,
      identities: ['1@host'],
      staleAfterSeconds: 75,
    },
    progress: {
      target: 'demo',
      mode: 'execute',
      phase: 'waiting-for-operator',
      currentStep: 'backup',
      steps,
      workers: { status: 'untouched' },
      waiting: {
        step: 'backup',
        error: 'disk full',
        since: '2026-11-26T15:00:32Z',
        signals: ['retry', 'abort'],
        workersRestarted: false,
      },
    },
    ...over,
  };
}

describe('live view', () => {
  const now = new Date('2026-11-26T15:01:00Z');
  test('steps with status, duration, tries and error', () => {
    const text = renderSteps(steps, now);
    expect(text).toMatch(/✔\s+0 Plan\s+done\s+1\.5s\s+ok/);
    expect(text).toMatch(/⏸\s+1 Backup the database\s+waiting-for-operator\s+30s\s+3\s+disk full/);
    expect(text).toMatch(/·\s+Approval\s+pending\s+-/);
  });

  test('the pause and its reason, with what to type', () => {
    const text = renderView(snap(), { now });
    expect(text).toContain('PAUSED at step "backup"');
    expect(text).toContain('reason: disk full');
    expect(text).toContain('Solid Queue workers: not stopped by this run');
    const restarted = snap({
      progress: {
        ...snap().progress!,
        workers: { status: 'running' },
        waiting: { ...snap().progress!.waiting!, workersRestarted: true },
      },
    });
    expect(renderView(restarted, { now })).toContain('Solid Queue workers: started again while the run waits');
    expect(text).toContain('reset-runbook resume reset-demo');
    expect(text).toContain('reset-runbook abort reset-demo');
  });

  test('approval wait and a missing worker are shown', () => {
    const s = snap({
      pollers: {
        taskQueue: 'reset-runbook',
        workflowPollers: 0,
        activityPollers: 0,
        identities: [],
        staleAfterSeconds: 30,
        lastPollAt: '2026-11-26T15:00:18Z',
      },
      noWorker: {
        taskQueue: 'reset-runbook',
        lastPollAt: '2026-11-26T15:00:18Z',
        heartbeatTimeoutSeconds: 30,
        recentPoll: false,
        queryError: 'no worker answered the progress query in time',
      },
      progress: {
        ...snap().progress!,
        phase: 'awaiting-approval',
        waiting: undefined,
        approval: {
          database: 'phonefin_production',
          highRisk: false,
          since: '2026-11-26T15:00:40Z',
          deadline: '2026-11-27T15:00:40Z',
          planDigest: 'abc',
        },
      },
    });
    const text = renderView(s, { now });
    expect(text).toContain('WAITING FOR APPROVAL  of database "phonefin_production"');
    expect(text).toContain(
      'no worker is polling task queue reset-runbook (last poll 42 s ago): the run continues when a worker starts',
    );
  });

  test("progress bars come from pending activities' heartbeat details, with the tracked rate", () => {
    const s = snap({
      activities: [
        {
          activityId: '5',
          type: 'backupDatabase',
          state: 'STARTED',
          attempt: 1,
          progress: { unit: 'bytes', done: 50, total: 100 },
        },
      ],
    });
    const text = renderView(s, { now, rates: { '5': 10 } });
    expect(text).toMatch(/backup\s+\[█+░+\]\s+50%\s+50 B \/ 100 B\s+10 B\/s\s+ETA 5\.0s/);
  });

  test('changeLines prints one line per step change and the pause once', () => {
    const before = snap({
      progress: {
        ...snap().progress!,
        phase: 'running',
        waiting: undefined,
        steps: [steps[0], { ...steps[1], status: 'running', attempts: 1, error: undefined }, steps[2]],
      },
    });
    const lines = changeLines(before, snap(), now, false);
    expect(lines).toEqual([
      '[15:01:00Z] 1 Backup the database: waiting-for-operator (try 3): disk full',
      '[15:01:00Z] PAUSED at step "backup": disk full',
      '[15:01:00Z]   retry: reset-runbook resume reset-demo   abort: reset-runbook abort reset-demo',
    ]);
    expect(changeLines(snap(), snap(), now, false)).toEqual([]);
  });

  test('run list', () => {
    const text = renderRunList([
      {
        workflowId: 'reset-demo',
        runId: 'r',
        kind: 'reset',
        status: 'COMPLETED',
        outcome: 'completed',
        step: 'verify',
        startTime: '2026-11-26T15:00:00Z',
        closeTime: '2026-11-26T15:02:05Z',
        target: 'demo',
      },
    ]);
    expect(text).toMatch(/reset-demo\s+reset\s+COMPLETED\s+completed\s+verify\s+2026-11-26 15:00:00Z\s+2m05s/);
    expect(visibleLength(ANSI.red('abc'))).toBe(3);
  });
});

describe('snapshot helpers', () => {
  test('heartbeat details decode into HeartbeatProgress; other shapes are ignored', () => {
    const p = defaultPayloadConverter.toPayload({ unit: 'objects', done: 7, total: 9, position: 'k/7' });
    expect(decodeHeartbeat([p as never])).toEqual({ unit: 'objects', done: 7, total: 9, position: 'k/7' });
    expect(decodeHeartbeat([defaultPayloadConverter.toPayload('hello') as never])).toBeUndefined();
    expect(decodeHeartbeat(undefined)).toBeUndefined();
    expect(asHeartbeatProgress({ unit: 'bytes', done: '3' })).toBeUndefined();
  });

  test('exit codes: 0 completed, 1 failed, 3 waiting or no worker, 4 running', () => {
    expect(exitCodeFor(snap())).toBe(3);
    expect(exitCodeFor(snap({ progress: { ...snap().progress!, phase: 'running', waiting: undefined } }))).toBe(4);
    expect(
      exitCodeFor(
        snap({
          progress: undefined,
          noWorker: { taskQueue: 'q', heartbeatTimeoutSeconds: 30, recentPoll: false, queryError: 'x' },
        }),
      ),
    ).toBe(3);
    expect(
      exitCodeFor(snap({ status: 'COMPLETED', result: { target: 'demo', mode: 'execute', outcome: 'completed' } })),
    ).toBe(0);
    expect(
      exitCodeFor(
        snap({
          status: 'COMPLETED',
          result: { target: 'demo', mode: 'plan', outcome: 'planned', plan: { ...plan, errors: ['x'] } },
        }),
      ),
    ).toBe(1);
    expect(
      exitCodeFor(snap({ status: 'FAILED', result: { target: 'demo', mode: 'execute', outcome: 'aborted' } })),
    ).toBe(1);
    expect(exitCodeFor(snap({ status: 'TERMINATED' }))).toBe(1);
  });

  test('a poller whose last poll is older than the heartbeat timeout does not count as polling now', () => {
    const now = new Date('2026-11-26T15:10:00Z');
    const at = (iso: string) =>
      ({ identity: iso, lastAccessTime: { seconds: Date.parse(iso) / 1000, nanos: 0 } }) as never;
    const w = summarizePollers(
      'q',
      [at('2026-11-26T15:09:30Z'), at('2026-11-26T15:05:00Z')],
      [at('2026-11-26T15:08:00Z')],
      now,
      75,
    );
    expect(w).toMatchObject({
      workflowPollers: 1,
      activityPollers: 0,
      identities: ['2026-11-26T15:09:30Z'],
      lastPollAt: '2026-11-26T15:09:30.000Z',
    });
  });

  test('rates over a window; a restart from an earlier position resets them', () => {
    const r = new RateTracker(10_000);
    expect(r.rate('a')).toBeUndefined();
    r.add('a', 0, 0);
    r.add('a', 100, 2000);
    expect(r.rate('a')).toBe(50);
    r.add('a', 10, 3000);
    expect(r.rate('a')).toBeUndefined();
  });
});

describe("a newcomer's first hour", () => {
  const now = new Date('2026-11-26T15:30:00Z');

  test('following a finished run stamps each step with its own time, not the time it was read', () => {
    const closed = snap({
      status: 'COMPLETED',
      progress: {
        ...snap().progress!,
        phase: 'completed',
        waiting: undefined,
        steps: [steps[0], { ...steps[1], status: 'done', attempts: 1, error: undefined, detail: '3 MiB' }],
      },
    });
    expect(changeLines(undefined, closed, now, false)).toEqual([
      '[15:00:01Z] 0 Plan: done: ok',
      '[15:00:32Z] 1 Backup the database: done: 3 MiB',
    ]);
    // No worker answers a closed run's query: its steps come from its history, with their times too.
    const fromHistory = snap({
      status: 'FAILED',
      progress: undefined,
      history: { steps: [steps[0]] } as unknown as Snapshot['history'],
    });
    expect(changeLines(undefined, fromHistory, now, false)).toEqual(['[15:00:01Z] 0 Plan: done: ok']);
    // While following live, a change is stamped when it was seen, as before.
    const before = snap({ progress: { ...snap().progress!, steps: [{ ...steps[0], status: 'running' }] } });
    const after = snap({ progress: { ...snap().progress!, steps: [steps[0]] } });
    expect(changeLines(before, after, now, false)).toEqual(['[15:30:00Z] 0 Plan: done: ok']);
  });

  test('no worker: said as soon as the run waits for a workflow task no worker takes, even while a stopped worker is still listed', () => {
    const waiting = (since: string) =>
      snap({ progress: undefined, pollers: undefined, taskQueue: 'reset-runbook', workflowTaskWaitingSince: since });
    expect(noWorkerNote(waiting('2026-11-26T15:29:59Z'), now)).toBeUndefined();
    expect(noWorkerNote(waiting('2026-11-26T15:29:56Z'), now)).toBe(
      'no worker polls task queue "reset-runbook" now (its workflow task has waited 4 s for one): the run goes on as soon as one does (Ctrl-C to detach)',
    );
    const unanswered = snap({
      progress: undefined,
      noWorker: { taskQueue: 'q', heartbeatTimeoutSeconds: 30, recentPoll: true, queryError: 'x' },
    });
    expect(noWorkerNote(unanswered, now)).toMatch(
      /^no worker polls task queue "q" now \(none answered its progress query\)/,
    );
    expect(noWorkerNote({ ...waiting('2026-11-26T15:00:00Z'), status: 'COMPLETED' }, now)).toBeUndefined();
  });

  test('an unknown target is a plain refusal naming the targets file, not a failed run', () => {
    const refused = snap({
      status: 'FAILED',
      progress: undefined,
      failureType: 'UnknownTarget',
      failure:
        'Target "nosuch" is not in the worker\'s targets file /etc/rr/targets.json (it has: demo). Add it there and restart the worker, then run this again.',
    });
    expect(unknownTargetRefusal(refused)).toBe(`refused: ${refused.failure}`);
    expect(renderEnding(refused)).toBe(`refused: ${refused.failure}`);
    expect(unknownTargetRefusal({ ...refused, failureType: 'BackupFailed' })).toBeUndefined();
  });

  test("the activity's UnknownTarget message, for the CLI reader", () => {
    const deps = {
      targets: { file: '/etc/rr/targets.json', targets: { demo: {}, staging: {} } },
      env: {},
    } as unknown as ActivityDeps;
    let err: ApplicationFailure | undefined;
    try {
      resolveTarget(deps, 'nosuch');
    } catch (e) {
      err = e as ApplicationFailure;
    }
    expect(err?.type).toBe('UnknownTarget');
    expect(err?.message).toBe(
      'Target "nosuch" is not in the worker\'s targets file /etc/rr/targets.json (it has: demo, staging). Add it there and restart the worker, then run this again.',
    );
  });
});
