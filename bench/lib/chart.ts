/**
 * The per-step chart, as SVG text written by code (no chart package): one panel per step of the whole
 * run, x = what the step touches (rows, or files for the purge) at each scale, y = seconds; ours and the
 * script as medians with their min–max spread, and each one's fitted line with its slope (seconds per
 * million) and intercept (the fixed part) in the panel's legend. Pure: test/bench/chart.test.ts.
 */
import { describeFit, RUN_STEPS, sizeFor, stepSlopes, TOUCHES, type RunStep, type ScalePoint } from './steps';

const TITLES: Record<RunStep, string> = {
  plan: '0 plan',
  backup: '1 backup',
  stopWorkers: '2 stop workers',
  reset: '3 reset (TRUNCATE + seeds)',
  purgeStorage: '4 purge files',
  startWorkers: '5 start workers',
  verify: '6 verify',
  other: 'other (whole run less its steps)',
};

const OURS = '#1f77b4';
const PEER = '#ff7f0e';

/** A "nice" upper bound for an axis: 1, 2, 2.5 or 5 times a power of ten, at least max. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** "11 M", "650 k", "25 k", "0": short labels for sizes. */
export function shortCount(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)} M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(0)} k`;
  return String(Math.round(n));
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface ChartOptions {
  title: string;
  /** A line under the title: date, machine, load, runs. */
  subtitle?: string;
  columns?: number;
}

/** The SVG document: panels in a grid, one per step (RUN_STEPS), for two scales or more. */
export function stepsChart(points: ScalePoint[], o: ChartOptions): string {
  if (points.length < 2) throw new Error('stepsChart: two scales or more');
  const slopes = new Map(stepSlopes(points).map((s) => [s.step, s]));
  const cols = o.columns ?? 4;
  const pw = 300;
  const ph = 230;
  const m = { l: 48, r: 12, t: 30, b: 66 };
  const top = 58;
  const rowsN = Math.ceil(RUN_STEPS.length / cols);
  const width = cols * pw + 20;
  const height = top + rowsN * ph + 28;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
  ];
  if (o.subtitle) out.push(`<text x="10" y="38" fill="#444">${esc(o.subtitle)}</text>`);
  out.push(
    `<circle cx="${width - 260}" cy="16" r="4" fill="${OURS}"/><text x="${width - 252}" y="20">reset-runbook</text>`,
    `<rect x="${width - 160}" y="12" width="8" height="8" fill="${PEER}"/><text x="${width - 148}" y="20">script (peer)</text>`,
  );
  RUN_STEPS.forEach((step, i) => {
    const x0 = 10 + (i % cols) * pw;
    const y0 = top + Math.floor(i / cols) * ph;
    const fit = slopes.get(step)!;
    const xs = points.map((p) => sizeFor(step, p));
    const xMax = niceMax(Math.max(...xs));
    const yMax = niceMax(Math.max(...points.flatMap((p) => [p.steps[step].ours.max, p.steps[step].peer.max])));
    const iw = pw - m.l - m.r;
    const ih = ph - m.t - m.b;
    const X = (v: number) => x0 + m.l + (v / xMax) * iw;
    const Y = (v: number) => y0 + m.t + ih - (Math.min(v, yMax) / yMax) * ih;
    out.push(`<g>`);
    out.push(`<text x="${x0 + m.l}" y="${y0 + 18}" font-weight="bold">${esc(TITLES[step])}</text>`);
    // Axes, ticks at 0, half and the top.
    out.push(
      `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(xMax)}" y2="${Y(0)}" stroke="#000"/>`,
      `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(0)}" y2="${Y(yMax)}" stroke="#000"/>`,
    );
    for (const f of [0, 0.5, 1]) {
      out.push(
        `<line x1="${X(0)}" y1="${Y(yMax * f)}" x2="${X(xMax)}" y2="${Y(yMax * f)}" stroke="#ddd"/>`,
        `<text x="${X(0) - 4}" y="${Y(yMax * f) + 4}" text-anchor="end">${+(yMax * f).toPrecision(3)}</text>`,
        `<text x="${X(xMax * f)}" y="${Y(0) + 13}" text-anchor="middle">${shortCount(xMax * f)}</text>`,
      );
    }
    const unit =
      TOUCHES[step] === 'files' ? 'files deleted' : TOUCHES[step] === 'rows' ? 'rows' : 'rows (touches none)';
    out.push(`<text x="${X(xMax / 2)}" y="${Y(0) + 26}" text-anchor="middle" fill="#444">${unit}; s ↑</text>`);
    // Fitted lines, then the points with their min–max spread.
    const sides = [
      { f: fit.ours, color: OURS, get: (p: ScalePoint) => p.steps[step].ours, label: 'ours' },
      { f: fit.peer, color: PEER, get: (p: ScalePoint) => p.steps[step].peer, label: 'script' },
    ];
    for (const s of sides) {
      if (step === 'plan' && s.label === 'script') continue; // the script has no plan
      const ya = s.f.intercept;
      const yb = s.f.intercept + s.f.slope * xMax;
      out.push(
        `<line x1="${X(0)}" y1="${Y(Math.max(0, ya)).toFixed(1)}" x2="${X(xMax)}" y2="${Y(Math.max(0, yb)).toFixed(1)}" stroke="${s.color}" stroke-dasharray="4 3"/>`,
      );
    }
    points.forEach((p, k) => {
      for (const [j, s] of sides.entries()) {
        if (step === 'plan' && s.label === 'script') continue; // the script has no plan
        const fg = s.get(p);
        const cx = X(xs[k]) + (j === 0 ? -3 : 3);
        out.push(
          `<line x1="${cx.toFixed(1)}" y1="${Y(fg.min).toFixed(1)}" x2="${cx.toFixed(1)}" y2="${Y(fg.max).toFixed(1)}" stroke="${s.color}"/>`,
          j === 0
            ? `<circle cx="${cx.toFixed(1)}" cy="${Y(fg.median).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(`${p.name} ours ${fg.median} s`)}</title></circle>`
            : `<rect x="${(cx - 3.5).toFixed(1)}" y="${(Y(fg.median) - 3.5).toFixed(1)}" width="7" height="7" fill="${s.color}"><title>${esc(`${p.name} script ${fg.median} s`)}</title></rect>`,
        );
      }
    });
    const ly = Y(0) + 40;
    out.push(`<text x="${x0 + 8}" y="${ly}" fill="${OURS}">ours: ${esc(describeFit(fit.ours, fit.per))}</text>`);
    if (step !== 'plan')
      out.push(
        `<text x="${x0 + 8}" y="${ly + 14}" fill="${PEER}">script: ${esc(describeFit(fit.peer, fit.per))}</text>`,
      );
    out.push(`</g>`);
  });
  out.push(
    `<text x="10" y="${height - 10}" fill="#444">Points: median of the interleaved runs, bars min–max; dashed: least-squares line through the medians (slope per million, + the fixed part at 0).</text>`,
    `</svg>`,
  );
  return out.join('\n') + '\n';
}
