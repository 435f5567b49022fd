/**
 * The contract (src/contract, issue 17) holds the lists every layer reads; these check that the code
 * keeps to them: every ApplicationFailure type thrown in src/ is in FAILURE_TYPES, and the step
 * registry gives each procedure the steps, titles and locked activities it always had.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DESTRUCTIVE_ACTIVITIES, FAILURE_TYPES, STEP_TITLES, stepOfActivity, stepsOf } from '../../src/contract';

const SRC = path.resolve(__dirname, '..', '..', 'src');
const files = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );

test("every ApplicationFailure type src/ throws or tests for is in the contract's FAILURE_TYPES", () => {
  // In a file that uses ApplicationFailure: a 'CamelCase' argument of a call (nonRetryable(msg, 'Type', …)),
  // { type: 'Type' }, and err.type === 'Type'.
  const shapes = [
    /[(,]\s*'([A-Z][a-z]+(?:[A-Z][a-z]+)+)'\s*[,)]/g,
    /\btype: '([A-Z][A-Za-z]+)'/g,
    /\.type [!=]== '([A-Z][A-Za-z]+)'/g,
  ];
  const found = new Set<string>();
  for (const f of files(SRC)) {
    if (f.startsWith(path.join(SRC, 'contract'))) continue;
    const text = fs.readFileSync(f, 'utf8');
    if (!text.includes('ApplicationFailure')) continue;
    for (const re of shapes) for (const m of text.matchAll(re)) found.add(m[1]);
  }
  expect(found.size).toBeGreaterThan(10);
  expect([...found].filter((t) => !(FAILURE_TYPES as readonly string[]).includes(t))).toEqual([]);
});

test('the step registry gives each procedure its steps in order, their titles and the activities run under the lock', () => {
  expect(stepsOf('reset')).toEqual([
    'plan',
    'backup',
    'approval',
    'stopWorkers',
    'reset',
    'purgeStorage',
    'startWorkers',
    'verify',
  ]);
  expect(stepsOf('restore')).toEqual([
    'plan',
    'approval',
    'stopWorkers',
    'restore',
    'restoreStorage',
    'startWorkers',
    'verify',
  ]);
  // Recorded histories carry these as activity summaries: they must not change.
  expect(STEP_TITLES).toEqual({
    plan: '0 Plan',
    backup: '1 Backup the database',
    approval: 'Approval',
    stopWorkers: '2 Stop Solid Queue workers',
    reset: '3 Reset the database',
    purgeStorage: '4 Clean orphaned S3 files',
    startWorkers: '5 Restart Solid Queue workers',
    verify: '6 Verify',
    restore: '3 Restore the database from the backup',
    restoreStorage: '4 Bring back quarantined files',
  });
  expect(stepOfActivity('reset')).toEqual({
    planReset: 'plan',
    backupDatabase: 'backup',
    stopWorkers: 'stopWorkers',
    resetDatabase: 'reset',
    purgeStorage: 'purgeStorage',
    startWorkers: 'startWorkers',
    verifyCounts: 'verify',
  });
  expect([...DESTRUCTIVE_ACTIVITIES].sort()).toEqual([
    'purgeStorage',
    'resetDatabase',
    'restoreDatabase',
    'restoreStorage',
    'startWorkers',
    'stopWorkers',
  ]);
});
