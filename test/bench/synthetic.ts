/** Synthetic per-step results for the chart and slope tests: no stack, known lines. */
import { figures } from '../../bench/lib/stats';
import { RUN_STEPS, type RunStep, type ScalePoint, type StepFigures } from '../../bench/lib/steps';

/** A scale whose step s takes a + b·x seconds on both sides (x: rows, or files for the purge). */
export function syntheticPoint(name: string, rows: number, files: number): ScalePoint {
  const steps = {} as Record<RunStep, StepFigures>;
  for (const s of RUN_STEPS) {
    const x = s === 'purgeStorage' ? files : rows;
    const per = s === 'backup' ? 4e-6 : s === 'purgeStorage' ? 2e-5 : 0;
    const ours = figures([0.3 + per * x, 0.2 + per * x, 0.4 + per * x]);
    const peer = figures([0.1 + (per / 2) * x]);
    steps[s] = { ours, peer, ratio: null };
  }
  return { name, rows, files, steps };
}
