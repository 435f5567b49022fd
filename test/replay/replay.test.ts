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
import { workflowBundlePath } from '../support/temporal';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const files = fs.existsSync(HISTORIES_DIR) ? fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')) : [];

test("recorded histories exist for the main paths, from today's code and from v0.1 (runs in flight when it was replaced)", () => {
  const names = (prefix: string) =>
    files
      .filter((f) => f.startsWith(prefix))
      .map((f) => f.slice(prefix.length).split('--')[0])
      .sort();
  expect(names('')).toEqual(expect.arrayContaining(['completed-with-approval', 'plan-only', 'purge-failed-then-aborted', 'reset-failed-then-retried', 'workers-still-stopped']));
  expect(names('v0.1.')).toEqual(['completed-with-approval', 'plan-only', 'purge-failed-then-aborted', 'reset-failed-then-retried']);
});

test.each(files)('replays %s without nondeterminism', async (file) => {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
  const workflowId = file.replace(/\.json$/, '').split('--')[1];
  await Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundlePath() } }, history, workflowId);
});

test('a run whose history disagrees with the code fails the replay (the check above can fail)', async () => {
  // Today's completed reset, as if older code had backed up after stopping the workers: two
  // scheduled activities swap names, and the code's commands no longer match the history.
  const file = files.find((f) => f.startsWith('completed-with-approval--'))!;
  const json = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
  const scheduled = (json.events as any[]).map((e) => e.activityTaskScheduledEventAttributes?.activityType).filter(Boolean);
  const backup = scheduled.find((t) => t.name === 'backupDatabase');
  const stop = scheduled.find((t) => t.name === 'stopWorkers');
  expect([backup?.name, stop?.name]).toEqual(['backupDatabase', 'stopWorkers']);
  [backup.name, stop.name] = [stop.name, backup.name];
  const replay = Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundlePath() } }, historyFromJSON(json), file.replace(/\.json$/, '').split('--')[1]);
  await expect(replay).rejects.toMatchObject({ name: 'DeterminismViolationError', message: expect.stringMatching(/nondeterminism/i) });
});
