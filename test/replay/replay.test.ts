/**
 * Replays recorded histories against today's workflow code. A change that would break a run in
 * flight (a reordered step, a new activity call without a patch) fails here with a nondeterminism
 * error, before it reaches a worker that has resets mid-way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from '../support/histories';
import { workflowBundlePath } from '../support/temporal';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const files = fs.existsSync(HISTORIES_DIR) ? fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')) : [];

test('recorded histories exist for the main paths, from today\'s code and from v0.1 (runs in flight when it was replaced)', () => {
  const names = (prefix: string) => files.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length).split('--')[0]).sort();
  expect(names('')).toEqual(expect.arrayContaining(['completed-with-approval', 'plan-only', 'purge-failed-then-aborted', 'reset-failed-then-retried', 'workers-still-stopped']));
  expect(names('v0.1.')).toEqual(['completed-with-approval', 'plan-only', 'purge-failed-then-aborted', 'reset-failed-then-retried']);
});

test.each(files)('replays %s without nondeterminism', async (file) => {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
  const workflowId = file.replace(/\.json$/, '').split('--')[1];
  await Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundlePath() } }, history, workflowId);
});
