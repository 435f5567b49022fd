/**
 * The whole run's steps, one by one: what each touches (so its cost is read against the right size),
 * per-step figures of ours and the script over the interleaved runs, and the straight line through a
 * step's seconds at several scales (least squares: slope per million of what it touches, and the
 * intercept — the fixed part). Pure functions: test/bench/steps.test.ts.
 */
import { figures, ratio, type Figures } from './stats';

/**
 * Ours: the run's stepDurationsMs; the script: its own timestamps (bench/peer-script.ts). `other` is
 * the whole run less the steps: for ours the approval round trip, activity scheduling and the workflow's
 * own work; for the script nothing but process and connection set-up.
 */
export const RUN_STEPS = [
  'plan',
  'backup',
  'stopWorkers',
  'reset',
  'purgeStorage',
  'startWorkers',
  'verify',
  'other',
] as const;
export type RunStep = (typeof RUN_STEPS)[number];

/** What a step's cost should grow with: the database's rows, the files (objects) it deletes, or nothing. */
export type Measure = 'rows' | 'files' | 'none';
export const TOUCHES: Record<RunStep, Measure> = {
  plan: 'rows', // estimates and a few exact counts of the database's tables
  backup: 'rows', // pg_dump reads every row
  stopWorkers: 'none',
  reset: 'rows', // TRUNCATE + the blob keys to the manifest (rows of one table)
  purgeStorage: 'files',
  startWorkers: 'none',
  verify: 'none', // counts after the reset: seeds only
  other: 'none',
};

export interface StepFigures {
  ours: Figures;
  peer: Figures;
  /** ours / peer of the medians; null when the script has no such step (plan) or it took no time. */
  ratio: number | null;
}

/** Per step, over the interleaved runs: each run's seconds of ours and of the script (0 for a step it has not). */
export function stepFigures(
  ours: Partial<Record<RunStep, number>>[],
  peer: Partial<Record<RunStep, number>>[],
): Record<RunStep, StepFigures> {
  const out = {} as Record<RunStep, StepFigures>;
  for (const s of RUN_STEPS) {
    const o = figures(ours.map((r) => r[s] ?? 0));
    const p = figures(peer.map((r) => r[s] ?? 0));
    out[s] = { ours: o, peer: p, ratio: p.median > 0 ? ratio(o, p) : null };
  }
  return out;
}

/** Our run's step seconds from its result's stepDurationsMs, and `other` as the rest of the whole run. */
export function ourStepSeconds(
  durationsMs: Record<string, number | undefined>,
  wholeSeconds: number,
): Record<RunStep, number> {
  const out = {} as Record<RunStep, number>;
  let sum = 0;
  for (const s of RUN_STEPS) {
    if (s === 'other') continue;
    out[s] = (durationsMs[s] ?? 0) / 1000;
    sum += out[s];
  }
  out.other = Math.max(0, wholeSeconds - sum);
  return out;
}

/** The script's step seconds (it has no plan), and `other` as the rest of its whole run. */
export function peerStepSeconds(steps: Record<string, number>, wholeSeconds: number): Record<RunStep, number> {
  const out = {} as Record<RunStep, number>;
  let sum = 0;
  for (const s of RUN_STEPS) {
    if (s === 'other') continue;
    out[s] = steps[s] ?? 0;
    sum += out[s];
  }
  out.other = Math.max(0, wholeSeconds - sum);
  return out;
}

export interface Fit {
  /** Seconds per unit of x. */
  slope: number;
  /** Seconds at x = 0: the fixed part. */
  intercept: number;
  /** Coefficient of determination (1: every point on the line); null with fewer than 3 points or no spread in y. */
  r2: number | null;
}

/** Least squares line through (x, y); x must not be all equal. */
export function fitLine(xs: number[], ys: number[]): Fit {
  if (xs.length !== ys.length || xs.length < 2) throw new Error('fitLine: need two points or more, as many x as y');
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
    syy += (ys[i] - my) ** 2;
  }
  if (sxx === 0) throw new Error('fitLine: every x is the same');
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  // No spread in y (within rounding): nothing for the line to explain.
  const r2 = n < 3 || syy < 1e-12 ? null : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2 };
}

/** One scale's results as the chart and the slopes read them. */
export interface ScalePoint {
  name: string;
  rows: number;
  files: number;
  steps: Record<RunStep, StepFigures>;
}

export interface StepSlope {
  step: RunStep;
  /** What x is: rows or files (a step that touches nothing is fitted against rows: its slope should be ~0). */
  per: 'rows' | 'files';
  ours: Fit;
  peer: Fit;
}

/** x of a scale for a step: the files for the purge, the rows otherwise. */
export function sizeFor(step: RunStep, p: Pick<ScalePoint, 'rows' | 'files'>): number {
  return TOUCHES[step] === 'files' ? p.files : p.rows;
}

/** Per step, the line through the medians of every scale given (two scales or more). */
export function stepSlopes(points: ScalePoint[]): StepSlope[] {
  return RUN_STEPS.map((step) => {
    const xs = points.map((p) => sizeFor(step, p));
    return {
      step,
      per: TOUCHES[step] === 'files' ? 'files' : 'rows',
      ours: fitLine(
        xs,
        points.map((p) => p.steps[step].ours.median),
      ),
      peer: fitLine(
        xs,
        points.map((p) => p.steps[step].peer.median),
      ),
    };
  });
}

/** "1.23 s per M rows + 0.40 s" (slope per million). */
export function describeFit(f: Fit, per: 'rows' | 'files'): string {
  const b = fixed2(f.intercept);
  return `${fixed2(f.slope * 1e6)} s per M ${per} ${b.startsWith('-') ? `− ${b.slice(1)}` : `+ ${b}`} s`;
}

/** Two decimals, without the "-0.00" of a tiny negative. */
export function fixed2(n: number): string {
  const t = n.toFixed(2);
  return t === '-0.00' ? '0.00' : t;
}
