/** The summary of test/support/measure-workers-window.ts: the window's growth with the files, as a ratio and a slope. */
import { windowGrowth, type WindowRun } from '../support/window-growth';

const run = (files: number, windowSeconds: number, startBeforePurge = true): WindowRun => ({
  files,
  windowSeconds,
  startBeforePurge,
});

test('means per file count, the ratio of the most files to the fewest, and the slope per million', () => {
  // The runs of docs/bench-results/2026-12-06/workers-window-at-rest.ndjson, interleaved as measured.
  const runs = [run(65000, 0.361), run(1000000, 0.458), run(65000, 0.341), run(1000000, 0.442)];
  expect(windowGrowth(runs)).toBe(
    'workers.startBeforePurge window, means: 65,000 files 0.351 s (2 run(s)), 1,000,000 files 0.450 s (2 run(s)): ' +
      '1.28× (goal: within 1.10×), +0.106 s per million files',
  );
});

test('runs with the setting off, and a middle count, do not enter the figures', () => {
  const runs = [run(2000, 1.9, false), run(2000, 0.3), run(65000, 30, false), run(65000, 0.33), run(1000000, 0.3)];
  expect(windowGrowth(runs)).toBe(
    'workers.startBeforePurge window, means: 2,000 files 0.300 s (1 run(s)), 1,000,000 files 0.300 s (1 run(s)): ' +
      '1.00× (goal: within 1.10×), +0.000 s per million files',
  );
});

test('one file count with the setting on: nothing to compare', () => {
  expect(windowGrowth([run(65000, 0.3), run(65000, 0.4), run(1000000, 9, false)])).toBeUndefined();
});

test("floor runs get a line of their own and stay out of the setting's figures", () => {
  const floor = (files: number, windowSeconds: number): WindowRun => ({ ...run(files, windowSeconds), floor: true });
  const runs = [run(65000, 0.4), floor(65000, 0.3), run(1000000, 0.5), floor(1000000, 0.33)];
  expect(windowGrowth(runs)).toBe(
    'workers.startBeforePurge window, means: 65,000 files 0.400 s (1 run(s)), 1,000,000 files 0.500 s (1 run(s)): ' +
      '1.25× (goal: within 1.10×), +0.107 s per million files\n' +
      'the floor (stop, TRUNCATE + seeds in one psql transaction, start), means: 65,000 files 0.300 s (1 run(s)), ' +
      '1,000,000 files 0.330 s (1 run(s)): 1.10× (goal: within 1.10×), +0.032 s per million files',
  );
});
