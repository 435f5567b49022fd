/** The one table the bench prints: what | ours | peer | ratio | goal | met?, with the goal each figure should meet. */
import type { BackupFigures } from '../cases/backup';
import type { BackupJobsFigures } from '../cases/backup-jobs';
import type { PlanFigures } from '../cases/plan';
import type { PurgeFigures } from '../cases/purge';
import type { ResetFigures } from '../cases/reset';
import type { RunFigures } from '../cases/run';
import type { MachineFigures } from './machine';
import type { Figures } from './stats';
import { RUN_STEPS, TOUCHES } from './steps';

export interface BenchResults {
  purge: PurgeFigures;
  backup: BackupFigures;
  backupJobs: BackupJobsFigures;
  reset: ResetFigures;
  plan: PlanFigures;
  run: RunFigures;
  /** The same keys at every scale: a regression check compares runs of alike load. */
  machine: MachineFigures;
}

const s = (f: Figures) => `${f.min.toFixed(2)}/${f.median.toFixed(2)}`;
const x = (r: number) => `${r.toFixed(2)}×`;
const met = (ok: boolean) => (ok ? 'yes' : 'NO');
const per1000 = (n: number, of: number) => Math.round((n / Math.max(1, of)) * 100000) / 100;

export function goalRows(r: BenchResults): string[][] {
  const p = r.purge;
  const u = p.withUnrelated;
  const rss = r.run.workerRss;
  const variants = p.requests.ours.listVariants;
  const ownRequests = p.requests.ours.total - variants;
  // Whole calls: 880 objects take one DeleteObjects call at best, which is more than 1.1 per 1,000.
  const requestBudget = Math.ceil((1.1 * p.objects) / 1000);
  return [
    [
      'whole run, s',
      s(r.run.oursSeconds),
      `script, DeleteObjects by key: ${s(r.run.peerSeconds)}`,
      x(r.run.ratio),
      '≤ 1.1×',
      met(r.run.ratio <= 1.1),
    ],
    [
      'workers stopped (stop → start), s',
      s(r.run.workersStopped.oursSeconds),
      `script: ${s(r.run.workersStopped.peerSeconds)}`,
      x(r.run.workersStopped.ratio),
      '≤ 1.2×',
      met(r.run.workersStopped.ratio <= 1.2),
    ],
    [
      `purge of ${p.objects} objects, s`,
      s(p.oursSeconds),
      `DeleteObjects by key: ${s(p.peerSeconds)}`,
      x(p.ratio),
      '≤ 1.2×',
      met(p.ratio <= 1.2),
    ],
    [
      `purge, bucket + ${u.unrelatedObjects} unrelated, s`,
      `${s(u.oursSeconds)} (${u.oursRequests.total} requests)`,
      `DeleteObjects by key: ${s(u.peerSeconds)}`,
      x(u.ratio),
      '—',
      '',
    ],
    [
      'purge: + unrelated / alone (ours)',
      `${u.oursSeconds.median.toFixed(2)}`,
      `alone: ${p.oursSeconds.median.toFixed(2)}`,
      x(u.flatness),
      '0.8–1.2× (flat)',
      met(u.flatness >= 0.8 && u.flatness <= 1.2),
    ],
    [
      'purge: S3 requests (per 1,000 deleted)',
      `${ownRequests} (${p.requests.oursPer1000WithoutVariantsListing}) + ${variants} variants/ listing`,
      `${p.requests.peer.total} (${per1000(p.requests.peer.total, p.objects)}), listing included`,
      '—',
      `≤ 1.1 per 1,000 (≤ ${requestBudget}) + listing`,
      met(ownRequests <= requestBudget),
    ],
    [
      'purge vs one DeleteObject per key, s',
      p.oursSeconds.median.toFixed(2),
      `${p.oneByOneSeconds.toFixed(2)} (scaled from ${p.oneByOne.measuredKeys} keys)`,
      x(p.oursSeconds.median / p.oneByOneSeconds),
      '—',
      '',
    ],
    [
      'plan, s',
      s(r.plan.oursSeconds),
      `exact count(*) of ${r.plan.tables} tables: ${s(r.plan.peerSeconds)}`,
      x(r.plan.ratio),
      '< 2 s',
      met(r.plan.oursSeconds.median < 2),
    ],
    [
      'backup, s',
      s(r.backup.oursSeconds),
      `pg_dump -Fc: ${s(r.backup.peerSeconds)}`,
      x(r.backup.ratio),
      '≤ 1.05×',
      met(r.backup.ratio <= 1.05),
    ],
    [
      'reset step, s',
      s(r.reset.oursSeconds),
      `psql TRUNCATE + seeds: ${s(r.reset.peerSeconds)}`,
      x(r.reset.ratio),
      '—',
      '',
    ],
    [
      'worker peak RSS above idle, MiB',
      `${rss.peakAboveIdleMiB.median.toFixed(0)} (idle ${rss.idleMiB.median.toFixed(0)}, peak ${rss.peakMiB.median.toFixed(0)})`,
      '—',
      '—',
      '≤ 50 MiB; flat small → large',
      met(rss.peakAboveIdleMiB.median <= 50),
    ],
  ];
}

/** A header line, a Markdown table padded to its columns (the first row is the head), and a note below it. */
function markdownTable(header: string, rows: string[][], note: string): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [header, '', line(rows[0]), rule, ...rows.slice(1).map(line), '', note].join('\n');
}

export function table(r: BenchResults, header: string): string {
  const rows = [['what', 'ours', 'peer', 'ratio', 'goal', 'met?'], ...goalRows(r)];
  return markdownTable(
    header,
    rows,
    'Seconds are min/median over the interleaved runs; ratios are ours/peer of the medians.',
  );
}

/** The backup.jobs case: each side's min/median seconds, its size, and the ratio to bare pg_dump -Fc. */
export function jobsTable(j: BackupJobsFigures, header: string): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const rows = [
    ['what', 'seconds (min/median)', 'runs', 'size', 'ratio to pg_dump -Fc'],
    ['pg_dump -Fc (bare)', s(j.peerSeconds), j.peerSeconds.runs.join(' '), mib(j.peerBytes), '1.00×'],
    ...j.ours.map((o) => [
      `backup step, jobs ${o.jobs}${o.jobs > 1 ? ` (-Fd -j ${o.jobs})` : ' (-Fc)'}`,
      s(o.seconds),
      o.seconds.runs.join(' '),
      mib(o.bytes),
      x(o.ratio),
    ]),
    ...j.oursS3.map((o) => [
      `backup step to S3, jobs ${o.jobs}${o.jobs > 1 ? ` (-Fd -j ${o.jobs}, tar)` : ' (-Fc)'}`,
      s(o.seconds),
      o.seconds.runs.join(' '),
      mib(o.bytes),
      x(o.ratio),
    ]),
    ...j.restore.map((r) => [r.what, s(r.seconds), r.seconds.runs.join(' '), '', '']),
  ];
  return markdownTable(
    header,
    rows,
    `1-minute load average before each round: ${j.load.join(', ')}; the order of the sides rotates each round.`,
  );
}

const spread = (f: Figures) => `${f.median.toFixed(2)} (${f.min.toFixed(2)}–${f.max.toFixed(2)})`;

/** The whole run step by step: median (min–max) seconds of ours and of the script, and the ratio. */
export function runStepsTable(r: RunFigures, header: string): string {
  const rows = [
    ['what', 'ours, s', 'script, s', 'ratio', 'grows with'],
    ['whole run', spread(r.oursSeconds), spread(r.peerSeconds), x(r.ratio), ''],
    [
      'workers stopped (stop → start)',
      spread(r.workersStopped.oursSeconds),
      spread(r.workersStopped.peerSeconds),
      x(r.workersStopped.ratio),
      '',
    ],
    ...RUN_STEPS.map((st) => [
      `  ${st}`,
      spread(r.steps[st].ours),
      st === 'plan' ? '— (none)' : spread(r.steps[st].peer),
      r.steps[st].ratio === null ? '—' : x(r.steps[st].ratio),
      TOUCHES[st] === 'none' ? 'nothing (fixed)' : TOUCHES[st],
    ]),
    ['worker peak RSS above idle, MiB', spread(r.workerRss.peakAboveIdleMiB), '—', '—', ''],
  ];
  return markdownTable(
    header,
    rows,
    'Seconds are median (min–max) over the interleaved runs; ratios are ours/script of the medians. "other" is the whole run less its steps.',
  );
}
