/** The per-step chart (bench/lib/chart.ts): an SVG document written by code, one panel per step. */
import { niceMax, shortCount, stepsChart } from '../../bench/lib/chart';
import { RUN_STEPS } from '../../bench/lib/steps';
import { syntheticPoint } from './synthetic';

test('niceMax rounds an axis up to 1, 2, 2.5 or 5 times a power of ten', () => {
  expect(niceMax(0)).toBe(1);
  expect(niceMax(0.37)).toBe(0.5);
  expect(niceMax(1.1e6)).toBe(2e6);
  expect(niceMax(11e6)).toBe(20e6);
  expect(niceMax(21)).toBe(25);
  expect(niceMax(100)).toBe(100);
});

test('shortCount labels sizes', () => {
  expect(shortCount(0)).toBe('0');
  expect(shortCount(25_426)).toBe('25 k');
  expect(shortCount(1_101_106)).toBe('1.1 M');
  expect(shortCount(11e6)).toBe('11 M');
});

test('stepsChart: a well-formed SVG with a panel per step, both sides, the fitted slopes and the spread', () => {
  const pts = [
    syntheticPoint('quick', 25_000, 1_320),
    syntheticPoint('large', 1.1e6, 57_200),
    syntheticPoint('xlarge', 11e6, 572_000),
  ];
  const svg = stepsChart(pts, { title: 'steps <test>', subtitle: 'load 2' });
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trim().endsWith('</svg>')).toBe(true);
  expect(svg).toContain('steps &lt;test&gt;'); // text is escaped
  expect(svg.match(/<g>/g)).toHaveLength(RUN_STEPS.length);
  // Three scales × (ours circle) per step; the script has squares except for the plan it does not have.
  expect(svg.match(/<circle cx="[\d.]+" cy="[\d.]+" r="3.5"/g)).toHaveLength(3 * RUN_STEPS.length);
  expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="7"/g)).toHaveLength(3 * (RUN_STEPS.length - 1));
  expect(svg).toContain('ours: 4.00 s per M rows + 0.30 s'); // backup
  expect(svg).toContain('script: 2.00 s per M rows + 0.10 s');
  expect(svg).toContain('ours: 20.00 s per M files + 0.30 s'); // the purge, per file deleted
  expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  expect(() => stepsChart(pts.slice(0, 1), { title: 'x' })).toThrow(/two scales/);
});
