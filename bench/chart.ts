/**
 * The per-step chart and slope table from the whole-run results of several scales (what
 * `npm run bench -- --scale S --case run` writes to $RR_STATE_DIR/bench-run-<scale>-<storage>.json; the
 * bench itself calls this after each such run once two scales are there).
 *
 *   npx tsx bench/chart.ts RESULTS.json… [--out docs/benchmarks-steps.svg] [--markdown]
 *
 * --markdown prints the table of each step's seconds per scale, ratios, slopes and fixed parts, as
 * docs/benchmarks.md shows it.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { RunFigures } from './cases/run';
import { stepsChart } from './lib/chart';
import type { MachineFigures } from './lib/machine';
import { fixed2, RUN_STEPS, stepSlopes, TOUCHES, type ScalePoint } from './lib/steps';

/** What an onlyRun bench writes (bench/cli.ts). */
export interface RunResultsFile {
  scale: {
    name: string;
    demoScale: number;
    storage: string;
    rows: number;
    files: number;
    deletedObjects: number;
    databaseBytes: number;
  };
  run: RunFigures;
  machine: MachineFigures;
  date: string;
  seconds: number;
}

export function scalePoint(r: RunResultsFile): ScalePoint {
  return { name: r.scale.name, rows: r.scale.rows, files: r.scale.deletedObjects, steps: r.run.steps };
}

const f2 = fixed2;

/** The markdown tables: per scale and step, median (min–max) of ours and the script; then the fitted lines. */
export function markdown(results: RunResultsFile[]): string {
  const rs = [...results].sort((a, b) => a.scale.rows - b.scale.rows);
  const head = ['step (grows with)', ...rs.flatMap((r) => [`${r.scale.name} ours`, `${r.scale.name} script`, 'ratio'])];
  const cell = (f: { median: number; min: number; max: number }) => `${f2(f.median)} (${f2(f.min)}–${f2(f.max)})`;
  const rows: string[][] = [
    ['**whole run**', ...rs.flatMap((r) => [cell(r.run.oursSeconds), cell(r.run.peerSeconds), `${f2(r.run.ratio)}×`])],
    [
      'workers stopped',
      ...rs.flatMap((r) => [
        cell(r.run.workersStopped.oursSeconds),
        cell(r.run.workersStopped.peerSeconds),
        `${f2(r.run.workersStopped.ratio)}×`,
      ]),
    ],
    ...RUN_STEPS.map((s) => [
      `${s} (${TOUCHES[s] === 'none' ? 'fixed' : TOUCHES[s]})`,
      ...rs.flatMap((r) => {
        const st = r.run.steps[s];
        return [cell(st.ours), s === 'plan' ? '—' : cell(st.peer), st.ratio === null ? '—' : `${f2(st.ratio)}×`];
      }),
    ]),
  ];
  const table = (t: string[][]) =>
    [
      `| ${t[0].join(' | ')} |`,
      `|${t[0].map(() => '---').join('|')}|`,
      ...t.slice(1).map((r) => `| ${r.join(' | ')} |`),
    ].join('\n');
  const slopes = stepSlopes(rs.map(scalePoint));
  const sl = [
    ['step', 'per', 'ours: s per M', 'ours: fixed, s', 'ours: r²', 'script: s per M', 'script: fixed, s', 'script: r²'],
    ...slopes.map((s) => [
      s.step,
      s.per === 'files' ? 'files deleted' : 'rows',
      f2(s.ours.slope * 1e6),
      f2(s.ours.intercept),
      s.ours.r2 === null ? '—' : s.ours.r2.toFixed(3),
      s.step === 'plan' ? '—' : f2(s.peer.slope * 1e6),
      s.step === 'plan' ? '—' : f2(s.peer.intercept),
      s.step === 'plan' || s.peer.r2 === null ? '—' : s.peer.r2.toFixed(3),
    ]),
  ];
  const sizes = rs
    .map(
      (r) =>
        `${r.scale.name}: demo scale ${r.scale.demoScale}, ${r.scale.rows} rows, ${r.scale.files} files (${r.scale.deletedObjects} deleted), database ${(r.scale.databaseBytes / 2 ** 20).toFixed(0)} MiB, ${r.run.oursSeconds.runs.length} run(s) each side, load ${r.machine.load1.min}/${r.machine.load1.median}/${r.machine.load1.max}`,
    )
    .join('; ');
  return `${sizes}\n\n${table([head, ...rows])}\n\n${table(sl)}\n`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, markdown: { type: 'boolean' } },
  });
  if (positionals.length < 2) throw new Error('give the results files of two scales or more');
  const results = positionals.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as RunResultsFile);
  if (values.out) {
    fs.writeFileSync(values.out, chartOf(results));
    process.stderr.write(`chart: wrote ${values.out}\n`);
  }
  if (values.markdown) process.stdout.write(markdown(results));
}

export function chartOf(results: RunResultsFile[]): string {
  const rs = [...results].sort((a, b) => a.scale.rows - b.scale.rows);
  const dates = [...new Set(rs.map((r) => r.date.slice(0, 10)))].join(', ');
  const load = rs.map((r) => `${r.scale.name} ${r.machine.load1.median}`).join(', ');
  return stepsChart(rs.map(scalePoint), {
    title: `Whole run step by step, ours vs the script, ${rs.map((r) => r.scale.name).join(' / ')} (${rs[0].scale.storage === 'disk' ? 'Disk service' : 'S3'})`,
    subtitle: `${dates}; ${rs[0].machine.cpus} CPUs; median 1-min load: ${load}; runs per side: ${rs.map((r) => r.run.oursSeconds.runs.length).join('/')}`,
  });
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`chart: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
