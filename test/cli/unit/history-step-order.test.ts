/**
 * With no worker to answer the progress query, `status` derives the run's steps from its history: a run
 * whose plan says workers.startBeforePurge lists step 5 before step 4, as the run took them. Read from
 * histories the workflow really recorded (test/replay/histories), one of each order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { deriveFromHistory } from '../../../src/cli/history';
import { HISTORIES_DIR } from '../../support/histories';

function derived(name: string) {
  const file = fs.readdirSync(HISTORIES_DIR).find((f) => f.startsWith(`${name}--`))!;
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
  return deriveFromHistory(history.events ?? []);
}

test.each([
  ['completed-with-approval', ['purgeStorage', 'startWorkers']],
  ['start-before-purge-completed', ['startWorkers', 'purgeStorage']],
])('the steps of %s, in the order the run took them', (name, middle) => {
  const h = derived(name);
  expect(h.phase).toBe('ended');
  expect(h.steps.map((s) => s.name)).toEqual([
    'plan',
    'backup',
    'approval',
    'stopWorkers',
    'reset',
    ...middle,
    'verify',
  ]);
  expect(h.steps.filter((s) => s.name !== 'approval').every((s) => s.status === 'done')).toBe(true);
});
