/**
 * A picture of the Grafana dashboard (deploy/grafana/reset-runbook.json) with real figures, for the docs:
 * every panel at its place on Grafana's 24-column grid, its queries run against a real Prometheus
 * (variables set to "All"), drawn as SVG — a stat's number, a bar gauge's bars, a time series' lines.
 * It is not Grafana (no Grafana here): same layout, titles, queries and legends, plainer drawing.
 *
 *   node --require tsx/cjs scripts/render-dashboard.ts --prometheus http://127.0.0.1:9090 \
 *        --from <unix s> --to <unix s> --out docs/operators/dashboard.svg
 *
 * scripts/dashboard-picture runs a Prometheus and a demo worker, a few resets, then this.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

interface Target {
  expr: string;
  legendFormat?: string;
}
interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  fieldConfig?: { defaults?: { unit?: string } };
}
interface Series {
  name: string;
  points: [number, number][];
}

const COL = 50; // px per grid column (24 columns: 1200 px)
const ROW = 30; // px per grid unit of height
const PAD = 6;
const COLORS = ['#73bf69', '#f2cc0c', '#5794f2', '#ff9830', '#f2495c', '#b877d9', '#8ab8ff', '#ffb357'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function exprOf(t: Target, rangeSeconds: number): string {
  return t.expr
    .replace(/=~"\$(target|task_queue)"/g, '=~".*"')
    .replace(/\$__range/g, `${rangeSeconds}s`)
    .replace(/\$__rate_interval/g, '1m');
}

function legend(format: string | undefined, metric: Record<string, string>): string {
  if (!format) return Object.values(metric).join(' ') || 'value';
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => metric[k] ?? '');
}

async function query(prom: string, p: string, params: Record<string, string>): Promise<unknown[]> {
  const res = await fetch(`${prom}/api/v1/${p}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== 'success') throw new Error(`${params.query}: ${body.error}`);
  return body.data!.result;
}

async function seriesOf(prom: string, panel: Panel, from: number, to: number): Promise<Series[]> {
  const out: Series[] = [];
  for (const t of panel.targets ?? []) {
    const q = exprOf(t, to - from);
    if (panel.type === 'timeseries') {
      const step = String(Math.max(1, Math.round((to - from) / 120)));
      const r = (await query(prom, 'query_range', { query: q, start: String(from), end: String(to), step })) as {
        metric: Record<string, string>;
        values: [number, string][];
      }[];
      for (const s of r)
        out.push({
          name: legend(t.legendFormat, s.metric),
          points: s.values.map(([x, y]) => [x, Number(y)] as [number, number]).filter(([, y]) => Number.isFinite(y)),
        });
    } else {
      const r = (await query(prom, 'query', { query: q, time: String(to) })) as {
        metric: Record<string, string>;
        value: [number, string];
      }[];
      for (const s of r) out.push({ name: legend(t.legendFormat, s.metric), points: [[to, Number(s.value[1])]] });
    }
  }
  return out;
}

function fmt(v: number, unit?: string): string {
  if (!Number.isFinite(v)) return '–';
  const n = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2).replace(/\.?0+$/, '');
  return unit === 's' ? `${n} s` : n;
}

function drawPanel(panel: Panel, series: Series[], from: number, to: number): string {
  const { x, y, w, h } = panel.gridPos;
  const [px, py, pw, ph] = [x * COL + PAD, y * ROW + PAD, w * COL - 2 * PAD, h * ROW - 2 * PAD];
  const unit = panel.fieldConfig?.defaults?.unit;
  const out = [
    `<rect x="${px}" y="${py}" width="${pw}" height="${ph}" rx="3" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="${px + 8}" y="${py + 18}" class="title">${esc(panel.title)}</text>`,
  ];
  const [ix, iy, iw, ih] = [px + 10, py + 28, pw - 20, ph - 38];
  if (panel.type === 'stat') {
    const v = series.reduce((a, s) => a + (s.points[0]?.[1] ?? 0), 0);
    const color = panel.title.includes('STILL') && v > 0 ? '#f2495c' : '#73bf69';
    out.push(`<text x="${px + pw / 2}" y="${iy + ih / 2 + 18}" class="stat" fill="${color}">${fmt(v, unit)}</text>`);
  } else if (panel.type === 'bargauge') {
    const max = Math.max(1e-9, ...series.map((s) => s.points[0]?.[1] ?? 0));
    const rowH = Math.min(22, ih / Math.max(1, series.length));
    series.forEach((s, i) => {
      const v = s.points[0]?.[1] ?? 0;
      const by = iy + i * rowH;
      out.push(`<text x="${ix}" y="${by + rowH * 0.7}" class="small">${esc(s.name)}</text>`);
      out.push(
        `<rect x="${ix + 100}" y="${by + 3}" width="${((iw - 160) * v) / max}" height="${rowH - 6}" fill="#73bf69"/>`,
      );
      out.push(`<text x="${ix + iw}" y="${by + rowH * 0.7}" class="small" text-anchor="end">${fmt(v, unit)}</text>`);
    });
  } else if (panel.type === 'timeseries') {
    const legendH = 14 * Math.min(3, series.length);
    const gh = ih - legendH - 4;
    const max = Math.max(1e-9, ...series.flatMap((s) => s.points.map(([, v]) => v)));
    const X = (t: number) => ix + 40 + ((t - from) / Math.max(1, to - from)) * (iw - 40);
    const Y = (v: number) => iy + gh - (v / max) * gh;
    out.push(`<text x="${ix}" y="${iy + 8}" class="axis">${fmt(max, unit)}</text>`);
    out.push(`<text x="${ix}" y="${iy + gh}" class="axis">0</text>`);
    out.push(`<line x1="${ix + 40}" y1="${iy + gh}" x2="${ix + iw}" y2="${iy + gh}" stroke="#2c3235"/>`);
    series.forEach((s, i) => {
      const c = COLORS[i % COLORS.length];
      const pts = s.points.map(([t, v]) => `${X(t).toFixed(1)},${Y(v).toFixed(1)}`).join(' ');
      if (s.points.length) out.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="1.6"/>`);
      if (i < 6) {
        const lx = ix + (i % 2) * (iw / 2);
        const ly = iy + gh + 14 + Math.floor(i / 2) * 14;
        if (ly < py + ph - 2) {
          out.push(`<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${c}"/>`);
          out.push(`<text x="${lx + 14}" y="${ly - 3}" class="small">${esc(s.name.slice(0, 34))}</text>`);
        }
      }
    });
    if (!series.length) out.push(`<text x="${px + pw / 2}" y="${iy + gh / 2}" class="nodata">No data</text>`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      prometheus: { type: 'string', default: 'http://127.0.0.1:9090' },
      dashboard: { type: 'string', default: path.join(__dirname, '..', 'deploy', 'grafana', 'reset-runbook.json') },
      from: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string', default: 'dashboard.svg' },
    },
  });
  const to = Number(values.to ?? Math.floor(Date.now() / 1000));
  const from = Number(values.from ?? to - 1800);
  const dashboard = JSON.parse(fs.readFileSync(values.dashboard!, 'utf8')) as { title: string; panels: Panel[] };
  const bottom = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const parts: string[] = [];
  for (const p of dashboard.panels) {
    if (p.type === 'row') {
      parts.push(`<text x="${PAD + 2}" y="${p.gridPos.y * ROW + 22}" class="row">${esc(p.title)}</text>`);
      continue;
    }
    parts.push(drawPanel(p, await seriesOf(values.prometheus!, p, from, to), from, to));
  }
  const [W, H] = [24 * COL, bottom * ROW + 30];
  const when = `${new Date(from * 1000).toISOString().slice(0, 16)} – ${new Date(to * 1000).toISOString().slice(11, 16)} UTC`;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Inter, Helvetica, Arial, sans-serif">`,
    '<style>.title{fill:#ccccdc;font-size:13px;font-weight:600}.row{fill:#ccccdc;font-size:15px;font-weight:600}.stat{font-size:40px;font-weight:600;text-anchor:middle}.small{fill:#ccccdc;font-size:11px}.axis{fill:#8e8e8e;font-size:10px}.nodata{fill:#8e8e8e;font-size:13px;text-anchor:middle}.foot{fill:#8e8e8e;font-size:11px}</style>',
    `<rect width="${W}" height="${H}" fill="#111217"/>`,
    ...parts,
    `<text x="${PAD + 2}" y="${H - 10}" class="foot">${esc(`${dashboard.title} · ${when} · drawn by scripts/render-dashboard.ts from Prometheus, variables "All"`)}</text>`,
    '</svg>',
    '',
  ].join('\n');
  fs.writeFileSync(values.out!, svg);
  console.log(`${values.out}: ${dashboard.panels.filter((p) => p.type !== 'row').length} panels`);
}

main().catch((err) => {
  console.error(`render-dashboard: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
