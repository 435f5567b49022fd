/** The whole run's steps (bench/lib/steps.ts): per-step figures, the least-squares line, the slopes per step. */
import {
  describeFit,
  fitLine,
  fixed2,
  ourStepSeconds,
  peerStepSeconds,
  RUN_STEPS,
  sizeFor,
  stepFigures,
  stepSlopes,
} from '../../bench/lib/steps';
import { syntheticPoint } from './synthetic';

test('fitLine: an exact line gives its slope, intercept and r² = 1', () => {
  const f = fitLine([0, 1e6, 1e7], [0.5, 2.5, 20.5]);
  expect(f.slope).toBeCloseTo(2e-6, 12);
  expect(f.intercept).toBeCloseTo(0.5, 9);
  expect(f.r2).toBeCloseTo(1, 9);
  expect(describeFit(f, 'rows')).toBe('2.00 s per M rows + 0.50 s');
  expect(describeFit({ slope: 1e-6, intercept: -1.5, r2: null }, 'files')).toBe('1.00 s per M files − 1.50 s');
});

test('fitLine: a flat step has slope 0 and its constant as the fixed part; noise lowers r²', () => {
  const flat = fitLine([1, 2, 3], [0.4, 0.4, 0.4]);
  expect(flat.slope).toBe(0);
  expect(flat.intercept).toBeCloseTo(0.4, 12);
  expect(flat.r2).toBeNull(); // no spread in y: nothing to explain
  const noisy = fitLine([1, 2, 3, 4], [1, 3, 2, 4]);
  expect(noisy.slope).toBeCloseTo(0.8, 12);
  expect(noisy.intercept).toBeCloseTo(0.5, 12);
  expect(noisy.r2!).toBeGreaterThan(0);
  expect(noisy.r2!).toBeLessThan(1);
});

test('fitLine refuses what has no line', () => {
  expect(() => fitLine([1], [1])).toThrow(/two points/);
  expect(() => fitLine([1, 2], [1])).toThrow(/as many/);
  expect(() => fitLine([3, 3, 3], [1, 2, 3])).toThrow(/every x is the same/);
});

test('our step seconds come from stepDurationsMs, "other" is the rest of the whole run (never negative)', () => {
  const s = ourStepSeconds(
    {
      plan: 500,
      backup: 1500,
      approval: 200,
      stopWorkers: 100,
      reset: 300,
      purgeStorage: 1000,
      startWorkers: 400,
      verify: 100,
    },
    4.5,
  );
  expect(s.plan).toBe(0.5);
  expect(s.purgeStorage).toBe(1);
  expect(s.other).toBeCloseTo(0.6, 9); // 4.5 − 3.9: the approval round trip is part of it
  expect(Object.keys(s).sort()).toEqual([...RUN_STEPS].sort());
  expect(ourStepSeconds({ backup: 5000 }, 4).other).toBe(0);
  const p = peerStepSeconds(
    { backup: 1, stopWorkers: 0.1, reset: 0.2, purgeStorage: 0.5, startWorkers: 0.3, verify: 0.05 },
    2.2,
  );
  expect(p.plan).toBe(0);
  expect(p.other).toBeCloseTo(0.05, 9);
});

test('stepFigures: median, min, max per step over the runs; no ratio where the script has no such step', () => {
  const ours = [
    { plan: 1, backup: 2 },
    { plan: 3, backup: 4 },
    { plan: 2, backup: 9 },
  ];
  const peer = [{ backup: 1 }, { backup: 2 }, { backup: 3 }];
  const f = stepFigures(ours, peer);
  expect(f.backup.ours).toEqual({ min: 2, median: 4, max: 9, runs: [2, 4, 9] });
  expect(f.backup.ratio).toBe(2);
  expect(f.plan.ratio).toBeNull();
  expect(f.verify.ours.median).toBe(0);
  expect(Object.keys(f)).toEqual([...RUN_STEPS]);
});

test('stepSlopes: per step against what it touches (files for the purge, rows otherwise)', () => {
  const pts = [
    syntheticPoint('quick', 25_000, 1_320),
    syntheticPoint('large', 1.1e6, 57_200),
    syntheticPoint('xlarge', 11e6, 572_000),
  ];
  expect(sizeFor('purgeStorage', pts[2])).toBe(572_000);
  expect(sizeFor('backup', pts[2])).toBe(11e6);
  const slopes = Object.fromEntries(stepSlopes(pts).map((s) => [s.step, s]));
  expect(slopes.backup.per).toBe('rows');
  expect(slopes.backup.ours.slope * 1e6).toBeCloseTo(4, 3);
  expect(slopes.backup.ours.intercept).toBeCloseTo(0.3, 3);
  expect(slopes.backup.peer.slope * 1e6).toBeCloseTo(2, 3);
  expect(slopes.purgeStorage.per).toBe('files');
  expect(slopes.purgeStorage.ours.slope * 1e6).toBeCloseTo(20, 3);
  expect(slopes.stopWorkers.ours.slope * 1e6).toBeCloseTo(0, 6);
  expect(slopes.stopWorkers.ours.intercept).toBeCloseTo(0.3, 6);
});

test('fixed2 never prints "-0.00"', () => {
  expect(fixed2(-0.001)).toBe('0.00');
  expect(fixed2(-0.01)).toBe('-0.01');
  expect(fixed2(1.005)).toMatch(/^1\.0[01]$/);
});
