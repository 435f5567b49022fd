/**
 * Replays recorded histories against today's workflow code. A change that would break a run in
 * flight (a reordered step, a new activity call without a patch) fails here with a nondeterminism
 * error, before it reaches a worker that has resets mid-way. The rule for such changes, and the one
 * command that records the histories anew (`npm run replay:record`): docs/versioning.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from '../support/histories';
import { droppedSpans, workflowBundlePath } from '../support/temporal';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const files = fs.existsSync(HISTORIES_DIR) ? fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')) : [];

test("recorded histories exist for the main paths, from today's code and from v0.1 (runs in flight when it was replaced)", () => {
  const names = (prefix: string) =>
    files
      .filter((f) => f.startsWith(prefix))
      .map((f) => f.slice(prefix.length).split('--')[0])
      .sort();
  expect(names('')).toEqual(
    expect.arrayContaining([
      'completed-with-approval',
      'plan-only',
      'purge-failed-then-aborted',
      'reset-failed-then-retried',
      'workers-still-stopped',
    ]),
  );
  expect(names('v0.1.')).toEqual([
    'completed-with-approval',
    'plan-only',
    'purge-failed-then-aborted',
    'reset-failed-then-retried',
  ]);
});

test('recorded histories name no folder of the machine that recorded them (stack traces say <repo>)', () => {
  // A stack frame's absolute path: "(/somewhere/test/…" or "at /somewhere/src/…".
  const machinePath = /(?:\(|at )\/[^\s)"]*\/(?:test|src|node_modules)\//;
  const naming = files.filter((f) => machinePath.test(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8')));
  expect(naming).toEqual([]);
});

test('recorded histories of the restore (restoreFromBackup) exist: completed, retried after a pause, aborted', () => {
  const restores = files.filter((f) => workflowType(f) === 'restoreFromBackup').map((f) => f.split('--')[0]);
  expect(restores.sort()).toEqual(
    expect.arrayContaining(['restore-completed', 'restore-failed-then-retried', 'restore-storage-failed-then-aborted']),
  );
});

test('recorded histories of the fleet (resetFleet) exist: completed after its approval, stopped by the failure threshold, aborted while children ran', () => {
  const fleets = files.filter((f) => workflowType(f) === 'resetFleet').map((f) => f.split('--')[0]);
  expect(fleets.sort()).toEqual(
    expect.arrayContaining(['fleet-aborted-while-running', 'fleet-completed-with-approval', 'fleet-failure-threshold']),
  );
});

test.each(files)('replays %s without nondeterminism', async (file) => {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
  const workflowId = file.replace(/\.json$/, '').split('--')[1];
  await Worker.runReplayHistory(
    { workflowBundle: { codePath: await workflowBundlePath() }, sinks: droppedSpans() },
    history,
    workflowId,
  );
});

/**
 * A recorded history with two of its scheduled activities' names swapped, replayed: as if older code had run them in
 * the other order.
 */
async function replaySwapped(prefix: string, first: string, second: string): Promise<void> {
  const file = files.find((f) => f.startsWith(prefix))!;
  const json = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
  const scheduled = (json.events as any[])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType)
    .filter(Boolean);
  const a = scheduled.find((t) => t.name === first);
  const b = scheduled.find((t) => t.name === second);
  expect([a?.name, b?.name]).toEqual([first, second]);
  [a.name, b.name] = [b.name, a.name];
  return Worker.runReplayHistory(
    { workflowBundle: { codePath: await workflowBundlePath() }, sinks: droppedSpans() },
    historyFromJSON(json),
    file.replace(/\.json$/, '').split('--')[1],
  );
}

test('a run whose history disagrees with the code fails the replay (the check above can fail)', async () => {
  // Today's completed reset, as if older code had backed up after stopping the workers.
  await expect(replaySwapped('completed-with-approval--', 'backupDatabase', 'stopWorkers')).rejects.toMatchObject({
    name: 'DeterminismViolationError',
    message: expect.stringMatching(/nondeterminism/i),
  });
});

test('a restore whose history has its steps in another order fails the replay', async () => {
  // Today's completed restore, as if older code had copied the objects back before loading the database.
  await expect(replaySwapped('restore-completed--', 'restoreDatabase', 'restoreStorage')).rejects.toMatchObject({
    name: 'DeterminismViolationError',
    message: expect.stringMatching(/nondeterminism/i),
  });
});

test('a fleet whose history has its activities in another order fails the replay', async () => {
  // Today's completed fleet, as if older code had planned a target before asking which targets.
  await expect(replaySwapped('fleet-completed-with-approval--', 'fleetTargets', 'planReset')).rejects.toMatchObject({
    name: 'DeterminismViolationError',
    message: expect.stringMatching(/nondeterminism/i),
  });
});

/** The workflow type a recorded history ran (its first event says). */
function workflowType(file: string): string | undefined {
  const json = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
  return json.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
}
