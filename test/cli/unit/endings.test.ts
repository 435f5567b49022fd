/**
 * Issue 7, the operator's side: a run that left the workers stopped is red everywhere with exit 7;
 * restart attempts show while compensating; with no worker answering, the state comes from the
 * run's history and the view says that no worker is polling. Fixtures are shaped like the contract
 * (src/contract, "CONTRACT (issue 7)") and like real history events.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import type { Plan, Progress, ResetResult, StepState, WorkersState } from '../../../src/contract';
import { stateLine } from '../../../src/cli/commands/abort';
import { historyLines } from '../../../src/cli/commands/resume';
import { EXIT, EXIT_CODE_HELP } from '../../../src/cli/exit-codes';
import { deriveFromHistory } from '../../../src/cli/history';
import { mainHelp } from '../../../src/cli/index';
import { changeLines, endingJson, snapshotJson } from '../../../src/cli/live';
import { renderEnding, renderResult, renderRunList } from '../../../src/cli/render-ending';
import { renderView } from '../../../src/cli/render-view';
import { endedRunError, exitCodeFor } from '../../../src/cli/snapshot-exit';
import type { Snapshot } from '../../../src/cli/snapshot-model';
import { ANSI } from '../../../src/cli/style';

const RED = '\x1b[31m';
const GREEN = '\x1b[32m';
const now = new Date('2026-11-26T18:40:00Z');
const START = 'ssh deploy@app1 sudo systemctl start solid_queue';

const plan = {
  target: 'demo',
  databaseName: 'phonefin_production',
  environment: 'production',
  strategy: 'replant',
  highRisk: false,
  tables: [
    { database: 'primary', schema: 'public', table: 'customers', rows: 20, action: 'truncate' },
    { database: 'primary', schema: 'public', table: 'schema_migrations', rows: 9, action: 'keep' },
  ],
  foreignKeys: [],
  blobs: { count: 0, bytes: 0 },
  objectsToDelete: { count: 0, bytes: 0 },
  workersAlive: 1,
  claimedExecutions: 0,
  pgDumpVersion: '15',
  serverVersion: '15',
  databaseBytes: 1,
  backupDirFreeBytes: 1,
  warnings: [],
  errors: [],
  settings: {
    heartbeatTimeoutSeconds: 10,
    maximumAttempts: 1,
    approvalRequired: true,
    approvalTimeout: '1h',
    workersConfigured: true,
    storageConfigured: true,
    stopTimeoutSeconds: 30,
    startTimeoutSeconds: 30,
    startCommand: START,
  },
  digest: 'abcdef0123456789',
  createdAt: '2026-11-26T18:00:00Z',
} as Plan;

const stillStopped: WorkersState = {
  status: 'still-stopped',
  stoppedSince: '2026-11-26T18:05:00Z',
  startCommand: START,
  restart: {
    attempt: 5,
    maxAttempts: 5,
    deadline: '2026-11-26T18:20:00Z',
    lastError: 'No Solid Queue heartbeat within 30s',
  },
};

const failedResult: ResetResult = {
  target: 'demo',
  mode: 'execute',
  outcome: 'failed',
  endReason: 'workersStillStopped',
  message:
    'WORKERS ARE STILL STOPPED: restarting them failed (No Solid Queue heartbeat within 30s); start them by hand',
  workers: stillStopped,
};

function closed(over: Partial<Snapshot> = {}): Snapshot {
  return {
    workflowId: 'reset-demo',
    runId: 'r1',
    workflowType: 'productionDataReset',
    status: 'FAILED',
    startTime: '2026-11-26T18:00:00Z',
    closeTime: '2026-11-26T18:21:00Z',
    activities: [],
    result: failedResult,
    failure: failedResult.message,
    ...over,
  };
}

const LINE = `WORKERS ARE STILL STOPPED since 2026-11-26 18:05:00Z — start them by hand: ${START}`;

describe('workers left stopped: red in every view, exit 7', () => {
  test('exit code 7 exists and is documented in --help', () => {
    expect(EXIT.workersStopped).toBe(7);
    expect(EXIT_CODE_HELP).toMatch(/^\s+7\s+the run ended with the Solid Queue workers STILL STOPPED/m);
    expect(mainHelp()).toContain('7  the run ended with the Solid Queue workers STILL STOPPED');
  });

  test('the result: outcome failed with its reason, the red line, never green', () => {
    const text = renderResult(failedResult, ANSI);
    expect(text).toContain('Reset of "demo": failed (workersStillStopped)');
    expect(text).toContain(LINE);
    expect(text).toContain(RED);
    expect(text).not.toContain(GREEN);
    expect(text).not.toContain('planned');
  });

  test('status/follow view of the ended run: the line under the header, exit 7', () => {
    const s = closed();
    const text = renderView(s, { now, style: ANSI });
    expect(text.split('\n')[2]).toContain(LINE);
    expect(text).not.toContain(GREEN);
    expect(exitCodeFor(s)).toBe(EXIT.workersStopped);
  });

  test('--json carries workers, endReason and the still-stopped facts', () => {
    const j = snapshotJson(closed());
    expect(j).toMatchObject({
      outcome: 'failed',
      endReason: 'workersStillStopped',
      workers: stillStopped,
      workersStillStopped: { since: '2026-11-26T18:05:00Z', startCommand: START },
      exitCode: 7,
    });
    expect(endingJson(closed(), 7, { signal: 'abort' })).toMatchObject({
      type: 'result',
      signal: 'abort',
      outcome: 'failed',
      endReason: 'workersStillStopped',
      workers: stillStopped,
      exitCode: 7,
    });
  });

  test('a run from before issue 7 (outcome left at "planned", only the failure message) is shown failed, red, exit 7', () => {
    const old: ResetResult = { target: 'demo', mode: 'execute', outcome: 'planned', plan };
    const failure =
      'WORKERS ARE STILL STOPPED: restarting them failed (No Solid Queue heartbeat within 5s); start them by hand';
    const steps: StepState[] = [
      {
        name: 'stopWorkers',
        title: '2 Stop Solid Queue workers',
        status: 'done',
        attempts: 1,
        startedAt: '2026-11-26T18:05:00Z',
      },
    ];
    const s = closed({
      result: old,
      failure,
      progress: {
        target: 'demo',
        mode: 'execute',
        phase: 'compensating',
        steps,
        workersStoppedByUs: true,
      } as unknown as Progress,
    });
    const text = renderView(s, { now, style: ANSI });
    expect(text).toContain(LINE);
    const head = text.split('\n').find((l) => l.includes('Reset of "demo"'))!;
    expect(head).toContain(`${RED}\x1b[1mReset of "demo": failed`);
    expect(head).not.toContain(GREEN);
    expect(text).not.toMatch(/: planned|compensating/);
    expect(text).not.toContain('unrecorded');
    expect(exitCodeFor(s)).toBe(7);
    expect(snapshotJson(s)).toMatchObject({ outcome: 'failed', endReason: 'workersStillStopped' });
    // Without a result at all, the failure alone still says it.
    expect(renderEnding(closed({ result: undefined, failure }))).toContain(
      'WORKERS ARE STILL STOPPED since an unrecorded time',
    );
  });

  test('resume/approve/abort of such an ended run say it first, exit 7', () => {
    const e = endedRunError(closed(), 'resume');
    expect(e.exitCode).toBe(7);
    expect(e.message).toContain(LINE);
    const plain = endedRunError(
      closed({ result: { target: 'demo', mode: 'execute', outcome: 'aborted' }, failure: 'Aborted by x' }),
      'resume',
    );
    expect(plain.exitCode).toBe(1);
    expect(plain.message).not.toContain('WORKERS');
  });

  test('list: the outcome in red and the line under the run', () => {
    const text = renderRunList(
      [
        {
          workflowId: 'reset-demo',
          runId: 'r',
          kind: 'reset',
          status: 'FAILED',
          outcome: 'failed',
          endReason: 'workersStillStopped',
          stillStopped: { since: '2026-11-26T18:05:00Z', startCommand: START },
          startTime: '2026-11-26T18:00:00Z',
          closeTime: '2026-11-26T18:21:00Z',
        },
        {
          workflowId: 'reset-other',
          runId: 's',
          kind: 'reset',
          status: 'COMPLETED',
          outcome: 'completed',
          startTime: '2026-11-25T18:00:00Z',
          closeTime: '2026-11-25T18:01:00Z',
        },
      ],
      ANSI,
    );
    const lines = text.split('\n');
    expect(lines[2]).toMatch(/reset-demo/);
    expect(lines[2]).toContain(`${RED}failed`);
    expect(lines[3]).toContain(LINE);
    expect(lines[4]).toMatch(/reset-other/);
  });

  test('follow, piped: the line is printed once when the run ends that way', () => {
    const running = closed({
      status: 'RUNNING',
      closeTime: undefined,
      result: undefined,
      failure: undefined,
      progress: {
        target: 'demo',
        mode: 'execute',
        phase: 'compensating',
        steps: [],
        workers: {
          status: 'restarting',
          stoppedSince: '2026-11-26T18:05:00Z',
          startCommand: START,
          restart: { attempt: 5, maxAttempts: 5, deadline: '2026-11-26T18:20:00Z' },
        },
      },
    });
    const lines = changeLines(running, closed(), now, false);
    expect(lines).toContain(`[18:40:00Z] ${LINE}`);
    expect(changeLines(closed(), closed(), now, false)).toEqual([]);
  });
});

describe('restart attempts while compensating', () => {
  const restarting = (attempt: number, lastError?: string): Snapshot =>
    closed({
      status: 'RUNNING',
      closeTime: undefined,
      result: undefined,
      failure: undefined,
      progress: {
        target: 'demo',
        mode: 'execute',
        phase: 'compensating',
        currentStep: 'startWorkers',
        steps: [],
        workersStoppedByUs: true,
        workers: {
          status: 'restarting',
          stoppedSince: '2026-11-26T18:05:00Z',
          startCommand: START,
          restart: { attempt, maxAttempts: 5, deadline: '2026-11-26T18:40:12Z', lastError },
        },
      } as Progress,
    });

  test('the view, abort and follow say "restarting workers, attempt n/m (budget until …)"', () => {
    const s = restarting(2, 'No Solid Queue heartbeat within 30s');
    expect(renderView(s, { now })).toContain(
      'restarting workers, attempt 2/5 (budget until 18:40:12Z); last error: No Solid Queue heartbeat within 30s',
    );
    expect(stateLine(s)).toBe(
      'restarting workers, attempt 2/5 (budget until 18:40:12Z); last error: No Solid Queue heartbeat within 30s',
    );
    expect(exitCodeFor(s)).toBe(EXIT.running);
    const lines = changeLines(restarting(1), restarting(2), now, false);
    expect(lines).toEqual(['[18:40:00Z] restarting workers, attempt 2/5 (budget until 18:40:12Z)']);
    expect(changeLines(restarting(2), restarting(2), now, false)).toEqual([]);
    expect(snapshotJson(s).workers).toMatchObject({ status: 'restarting', restart: { attempt: 2, maxAttempts: 5 } });
  });

  test('without the contract field (an older run), abort shows phase and step', () => {
    const s = restarting(1);
    delete (s.progress as Partial<Progress>).workers;
    expect(stateLine(s)).toBe('compensating, step startWorkers');
  });
});

// ---- History fixtures: the events a run waiting for approval writes, then a SIGKILLed worker ----

let nextId = 1;
const t0 = Date.parse('2026-11-26T18:00:00Z');
function ev(
  secondsIn: number,
  attrs: Partial<temporal.api.history.v1.IHistoryEvent>,
): temporal.api.history.v1.IHistoryEvent {
  const ms = t0 + secondsIn * 1000;
  return {
    eventId: nextId++ as never,
    eventTime: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 } as never,
    ...attrs,
  };
}
const payload = (v: unknown) => defaultPayloadConverter.toPayload(v) as temporal.api.common.v1.IPayload;
const task = (s: number) => [
  ev(s, { workflowTaskScheduledEventAttributes: {} }),
  ev(s, { workflowTaskStartedEventAttributes: {} }),
  ev(s, { workflowTaskCompletedEventAttributes: {} }),
];
function activity(s: number, type: string, summary: string, end: 'completed' | 'failed', result?: unknown) {
  const scheduled = ev(s, {
    activityTaskScheduledEventAttributes: { activityType: { name: type } },
    userMetadata: { summary: payload(summary) },
  });
  const id = scheduled.eventId;
  return [
    scheduled,
    ev(s + 1, { activityTaskStartedEventAttributes: { scheduledEventId: id } }),
    end === 'completed'
      ? ev(s + 2, {
          activityTaskCompletedEventAttributes: {
            scheduledEventId: id,
            result: { payloads: [payload(result ?? null)] },
          },
        })
      : ev(s + 2, {
          activityTaskFailedEventAttributes: {
            scheduledEventId: id,
            failure: { message: 'Activity task failed', cause: { message: String(result) } },
          },
        }),
  ];
}

function approvalWaitHistory() {
  nextId = 1;
  return [
    ev(0, {
      workflowExecutionStartedEventAttributes: {
        input: { payloads: [payload({ target: 'demo', mode: 'execute', requireApproval: true })] },
      },
    }),
    ...task(0),
    ...activity(1, 'planReset', '0 Plan', 'completed', plan),
    ...task(4),
    ...activity(5, 'backupDatabase', '1 Backup the database', 'completed', { files: [] }),
    ...task(8),
    ev(8, { timerStartedEventAttributes: { timerId: '1', startToFireTimeout: { seconds: 3600 as never } } }),
  ];
}

const noWorker = {
  taskQueue: 'reset-runbook',
  lastPollAt: '2026-11-26T18:39:18Z',
  heartbeatTimeoutSeconds: 10,
  recentPoll: false,
  queryError: 'no worker answered the progress query in time',
};

function derivedSnap(events: temporal.api.history.v1.IHistoryEvent[], over: Partial<Snapshot> = {}): Snapshot {
  return {
    workflowId: 'reset-demo',
    runId: 'r1',
    workflowType: 'productionDataReset',
    status: 'RUNNING',
    startTime: '2026-11-26T18:00:00Z',
    activities: [],
    target: 'demo',
    progressError: 'no worker answered the progress query in time',
    pollers: {
      taskQueue: 'reset-runbook',
      workflowPollers: 0,
      activityPollers: 0,
      identities: [],
      lastPollAt: noWorker.lastPollAt,
      staleAfterSeconds: 10,
    },
    history: deriveFromHistory(events),
    noWorker,
    ...over,
  };
}

describe('status that never guesses: the state from the history when no worker answers', () => {
  test('a run waiting for approval: phase, steps, approval deadline, heartbeat timeout and start command from the plan', () => {
    const h = deriveFromHistory(approvalWaitHistory());
    expect(h).toMatchObject({
      target: 'demo',
      mode: 'execute',
      phase: 'awaiting-approval',
      currentStep: 'approval',
      heartbeatTimeoutSeconds: 10,
      startCommand: START,
    });
    expect(h.approval).toEqual({
      database: 'phonefin_production',
      since: '2026-11-26T18:00:08.000Z',
      deadline: '2026-11-26T19:00:08.000Z',
    });
    expect(h.lastCompleted).toEqual({ step: 'backup', at: '2026-11-26T18:00:07.000Z' });
    expect(h.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'plan:done',
      'backup:done',
      'approval:running',
      'stopWorkers:pending',
      'reset:pending',
      'purgeStorage:pending',
      'startWorkers:pending',
      'verify:pending',
    ]);
    expect(h.workersStoppedSince).toBeUndefined();
  });

  test('status: the history-derived state and the no-worker line; never "no progress" or "mode ?"; exit 3', () => {
    const s = derivedSnap(approvalWaitHistory());
    const text = renderView(s, { now });
    expect(text).toContain('target demo   mode execute   RUNNING / awaiting-approval (from history)');
    expect(text).toMatch(/✔\s+1 Backup the database\s+done/);
    expect(text).toContain(
      'WAITING FOR APPROVAL  of database "phonefin_production" since 2026-11-26 18:00:08Z, deadline 2026-11-26 19:00:08Z',
    );
    expect(text).toContain(
      'no worker is polling task queue reset-runbook (last poll 42 s ago): the run continues when a worker starts',
    );
    expect(text).toContain('last step completed: backup at 2026-11-26 18:00:07Z');
    expect(text).not.toContain('no progress');
    expect(text).not.toContain('mode ?');
    expect(text).not.toContain('goes on by itself');
    expect(exitCodeFor(s)).toBe(EXIT.waiting);
    expect(snapshotJson(s)).toMatchObject({
      phase: 'awaiting-approval',
      stateFrom: 'history',
      currentStep: 'approval',
      target: 'demo',
      noWorker: { recentPoll: false },
      exitCode: 3,
    });
  });

  test('a poll within the heartbeat timeout but no answer: said as such, not "no worker is polling"', () => {
    const s = derivedSnap(approvalWaitHistory(), {
      noWorker: { ...noWorker, lastPollAt: '2026-11-26T18:39:55Z', recentPoll: true },
    });
    const text = renderView(s, { now });
    expect(text).toContain(
      'no worker answered the progress query, though a worker polled task queue reset-runbook within the heartbeat timeout (10 s; last poll 5 s ago)',
    );
    expect(text).not.toContain('no worker is polling');
  });

  test('signals received but not yet taken by the run are listed; a wrong approval is flagged as the run would refuse it', () => {
    const events = [
      ...approvalWaitHistory(),
      ev(20, {
        workflowExecutionSignaledEventAttributes: {
          signalName: 'approve',
          input: { payloads: [payload({ confirmation: 'nope', by: 'ann@host' })] },
        },
      }),
      ev(21, {
        workflowExecutionSignaledEventAttributes: {
          signalName: 'abort',
          input: { payloads: [payload({ by: 'bob@host' })] },
        },
      }),
    ];
    const h = deriveFromHistory(events);
    expect(h.phase).toBe('awaiting-approval');
    expect(h.signals).toEqual([
      {
        name: 'approve',
        at: '2026-11-26T18:00:20.000Z',
        by: 'ann@host',
        seenByRun: false,
        problem: 'confirmation "nope" does not match the database name "phonefin_production"',
      },
      { name: 'abort', at: '2026-11-26T18:00:21.000Z', by: 'bob@host', seenByRun: false },
    ]);
    const lines = historyLines('reset-demo', h).join('\n');
    expect(lines).toContain("the run's history shows: awaiting-approval, step approval");
    expect(lines).toContain('signal "abort" received 2026-11-26 18:00:21Z, not yet taken by the run');
    expect(renderView(derivedSnap(events), { now })).toContain(
      'signal "abort" from bob@host received 2026-11-26 18:00:21Z: the run has not taken it yet',
    );

    // A workflow task completed after a signal: the run has taken it (and keeps waiting, the name was wrong).
    const taken = deriveFromHistory([...approvalWaitHistory(), events[events.length - 2], ...task(22)]);
    expect(taken.signals).toEqual([expect.objectContaining({ name: 'approve', seenByRun: true })]);
    expect(taken.phase).toBe('awaiting-approval');
    expect(historyLines('reset-demo', taken).join('\n')).not.toContain('not yet taken');
  });

  test('a step that failed its retries with no retry since: paused; the workers stopped by the run are said', () => {
    nextId = 1;
    const events = [
      ev(0, {
        workflowExecutionStartedEventAttributes: {
          input: { payloads: [payload({ target: 'demo', mode: 'execute', confirmation: 'phonefin_production' })] },
        },
      }),
      ...task(0),
      ...activity(1, 'planReset', '0 Plan', 'completed', plan),
      ...task(4),
      ...activity(5, 'backupDatabase', '1 Backup the database', 'completed', { files: [] }),
      ...task(8),
      ...activity(9, 'stopWorkers', '2 Stop Solid Queue workers', 'completed', { stopped: 1 }),
      ...task(12),
      ...activity(13, 'resetDatabase', '3 Reset the database', 'failed', 'seed command exited with code 1'),
      ...task(16),
    ];
    const h = deriveFromHistory(events);
    expect(h).toMatchObject({
      phase: 'waiting-for-operator',
      currentStep: 'reset',
      waiting: { step: 'reset', error: 'seed command exited with code 1' },
      workersStoppedSince: '2026-11-26T18:00:09.000Z',
    });
    expect(h.steps.find((s) => s.name === 'reset')).toMatchObject({
      status: 'waiting-for-operator',
      error: 'seed command exited with code 1',
    });
    const text = renderView(derivedSnap(events), { now });
    expect(text).toContain('PAUSED at step "reset"');
    expect(text).toContain('Solid Queue workers are stopped by this run since 2026-11-26 18:00:09Z');
    // A retry signal after the failure: no longer paused (the run re-runs the step when a worker takes it).
    const retried = deriveFromHistory([
      ...events,
      ev(30, { workflowExecutionSignaledEventAttributes: { signalName: 'retry' } }),
    ]);
    expect(retried.phase).not.toBe('waiting-for-operator');
  });

  test('a pending activity (from describe) makes it running that step', () => {
    const h = deriveFromHistory(approvalWaitHistory().slice(0, -1 - 5), [
      { activityId: '9', type: 'backupDatabase', state: 'STARTED', attempt: 2 },
    ]);
    expect(h).toMatchObject({ phase: 'running', currentStep: 'backup' });
    expect(h.why).toContain('activity backupDatabase is pending (started, attempt 2)');
  });
});

describe('the same derivation on a real recorded history (test/replay/histories)', () => {
  // A run whose purge failed its retries, then was aborted; cut at each point a worker could have died.
  const dir = path.join(__dirname, '..', '..', 'replay', 'histories');
  const file = fs.readdirSync(dir).find((f) => f.startsWith('purge-failed-then-aborted--'))!;
  const events = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))).events!;
  const at = (pred: (e: temporal.api.history.v1.IHistoryEvent) => unknown) => events.findIndex(pred);
  const upTo = (i: number) => deriveFromHistory(events.slice(0, i + 1));

  test('waiting for approval, then an approve the run has not taken yet', () => {
    const timer = at((e) => e.timerStartedEventAttributes);
    expect(upTo(timer)).toMatchObject({
      phase: 'awaiting-approval',
      currentStep: 'approval',
      heartbeatTimeoutSeconds: expect.any(Number),
    });
    const approve = at((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'approve');
    const h = upTo(approve);
    expect(h.phase).toBe('awaiting-approval');
    expect(h.signals).toEqual([expect.objectContaining({ name: 'approve', seenByRun: false })]);
    expect(h.signals[0].problem).toBeUndefined();
  });

  test('the reset step running with the workers stopped; compensation; the pause; an abort not yet taken', () => {
    const reset = at((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'resetDatabase');
    expect(upTo(reset)).toMatchObject({
      phase: 'running',
      currentStep: 'reset',
      workersStoppedSince: expect.any(String),
    });
    const restart = at((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'startWorkers');
    expect(upTo(restart)).toMatchObject({ phase: 'compensating', currentStep: 'startWorkers' });
    const abort = at((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'abort');
    const h = upTo(abort);
    expect(h).toMatchObject({
      phase: 'waiting-for-operator',
      currentStep: 'purgeStorage',
      waiting: { step: 'purgeStorage' },
    });
    expect(h.workersStoppedSince).toBeUndefined(); // started again before the pause
    expect(h.signals.map((s) => [s.name, s.seenByRun])).toEqual([
      ['approve', true],
      ['abort', false],
    ]);
    expect(deriveFromHistory(events).phase).toBe('ended');
  });

  test('an ended run: no step left running or waiting, each with its end time', () => {
    const approve = at((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'approve');
    // The run as if it had been aborted while it waited for approval (the close event moved up).
    const closedEvent = events[events.length - 1];
    const h = deriveFromHistory([...events.slice(0, approve), closedEvent]);
    expect(h.phase).toBe('ended');
    expect(h.approval).toBeUndefined();
    expect(h.steps.find((s) => s.name === 'approval')).toMatchObject({
      status: 'failed',
      error: 'no approval was taken before the run ended',
      endedAt: expect.any(String),
    });
    expect(h.steps.filter((s) => s.status === 'running' || s.status === 'waiting-for-operator')).toEqual([]);
  });
});

describe('a run terminated from outside: no ending was written, the history tells what it left', () => {
  function terminatedHistory(stopStarted: boolean, resetStarted: boolean, startedAgain = false) {
    const events = approvalWaitHistory();
    events.push(ev(9, { timerFiredEventAttributes: {} }), ...task(9));
    if (stopStarted)
      events.push(
        ...activity(10, 'stopWorkers', '2 Stop the Solid Queue workers', 'completed', { alive: 0 }),
        ...task(13),
      );
    if (resetStarted)
      events.push(
        ev(14, {
          activityTaskScheduledEventAttributes: { activityType: { name: 'resetDatabase' } },
          userMetadata: { summary: payload('3 Reset the database') },
        }),
      );
    if (startedAgain)
      events.push(...activity(15, 'startWorkers', '5 Start the Solid Queue workers', 'completed', { alive: 1 }));
    events.push(ev(20, { workflowExecutionTerminatedEventAttributes: { reason: 'pressed Terminate' } }));
    return events;
  }
  const closed = (events: temporal.api.history.v1.IHistoryEvent[]) =>
    derivedSnap(events, {
      status: 'TERMINATED',
      closeTime: '2026-11-26T18:00:20Z',
      noWorker: undefined,
      progressError: undefined,
    });

  test('stopped, then terminated mid-reset: WORKERS MAY STILL BE STOPPED in red, the restore command, exit 7, and in list', () => {
    const snap = closed(terminatedHistory(true, true));
    const view = renderView(snap, { now, style: ANSI });
    expect(view).toContain(`${RED}`);
    expect(view).toContain(
      'WORKERS MAY STILL BE STOPPED: the run stopped them at 2026-11-26 18:00:10Z and was terminated',
    );
    expect(view).toContain(START);
    expect(view).toContain('undo it with: reset-runbook restore demo --run r1');
    expect(renderEnding(snap)).toContain('WORKERS MAY STILL BE STOPPED');
    expect(exitCodeFor(snap)).toBe(EXIT.workersStopped);
    // --json says the same, marked uncertain (nothing started them, nothing knows more).
    expect(snapshotJson(snap).workersStillStopped).toMatchObject({
      uncertain: true,
      closedAs: 'TERMINATED',
      since: '2026-11-26T18:00:10.000Z',
      startCommand: START,
    });
  });

  test('terminated before the stop, or after the workers were started again: no such line and no restore hint', () => {
    for (const snap of [closed(terminatedHistory(false, false)), closed(terminatedHistory(true, true, true))]) {
      const view = renderView(snap, { now });
      expect(view).not.toContain('MAY STILL BE STOPPED');
      expect(exitCodeFor(snap)).not.toBe(EXIT.workersStopped);
    }
    expect(renderView(closed(terminatedHistory(false, false)), { now })).not.toContain('reset-runbook restore');
  });
});
