/** The suite's figures: one row per kind of fault, then the totals; markdown for docs/reliability.md. */
import type { Outcome } from './harness';

export interface KindRow {
  kind: string;
  faults: number;
  runs: number;
  outcomes: string;
  unexpected: number;
  keptRowsLost: number;
  keptObjectsLost: number;
  droppedObjectsLeft: number;
  duplicateSeedRows: number;
  maxRecoveryMs?: number;
  peakRssMb?: number;
}

export interface Summary {
  rows: KindRow[];
  total: KindRow;
  ok: boolean;
  failures: string[];
}

function row(kind: string, list: Outcome[]): KindRow {
  const counts = new Map<string, number>();
  for (const o of list) counts.set(o.got, (counts.get(o.got) ?? 0) + 1);
  const rec = list.flatMap((o) => o.recoveryMs);
  const rss = list.map((o) => o.peakRssMb ?? 0).filter(Boolean);
  const sum = (k: keyof Outcome) => list.reduce((a, o) => a + (o[k] as number), 0);
  return {
    kind,
    faults: sum('faults'),
    runs: list.length,
    outcomes: [...counts].map(([g, n]) => `${n} ${g}`).join(', '),
    unexpected: list.filter((o) => o.problems.length).length,
    keptRowsLost: sum('keptRowsLost'),
    keptObjectsLost: sum('keptObjectsLost'),
    droppedObjectsLeft: sum('droppedObjectsLeft'),
    duplicateSeedRows: sum('duplicateSeedRows'),
    maxRecoveryMs: rec.length ? Math.max(...rec) : undefined,
    peakRssMb: rss.length ? Math.max(...rss) : undefined,
  };
}

export function summarise(outcomes: Outcome[]): Summary {
  const kinds = [...new Set(outcomes.map((o) => o.kind))];
  const rows = kinds.map((k) =>
    row(
      k,
      outcomes.filter((o) => o.kind === k),
    ),
  );
  const total = row('all', outcomes);
  const failures = outcomes.filter((o) => o.problems.length).map((o) => `${o.scenario}: ${o.problems[0]}`);
  return { rows, total, ok: failures.length === 0 && outcomes.length > 0, failures };
}

const HEAD = [
  'fault kind',
  'faults',
  'runs',
  'outcomes',
  'not as expected',
  'kept rows lost',
  'kept objects lost',
  "dropped blobs' objects left",
  'dup. seed rows',
  'max recovery',
  'peak RSS',
];

function cells(r: KindRow): string[] {
  return [
    r.kind,
    String(r.faults),
    String(r.runs),
    r.outcomes,
    String(r.unexpected),
    String(r.keptRowsLost),
    String(r.keptObjectsLost),
    String(r.droppedObjectsLeft),
    String(r.duplicateSeedRows),
    r.maxRecoveryMs === undefined ? '-' : `${(r.maxRecoveryMs / 1000).toFixed(1)} s`,
    r.peakRssMb === undefined ? '-' : `${r.peakRssMb} MB`,
  ];
}

export function renderTable(s: Summary): string {
  const lines = [HEAD, ...s.rows.map(cells), cells(s.total)];
  const widths = HEAD.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) => l.map((c, i) => c.padEnd(widths[i])).join(' | ');
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [fmt(HEAD), rule, ...s.rows.map((r) => fmt(cells(r))), rule, fmt(cells(s.total))].join('\n');
}

const RESTORE_NOTE =
  'Restore rows (`restore: …`, faults/scenarios/restore.ts): a reset of the suite\'s restore target, then `restoreFromBackup` of its backup under the fault; there "kept rows lost" counts rows not back as they were before the reset (Solid Queue\'s own tables excepted: the running workers change them), "kept objects lost" objects not back, "dup. seed rows" seed rows left beside the restored ones.';

const md = (l: string[]) => `| ${l.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;

export function renderMarkdown(
  s: Summary,
  outcomes: Outcome[],
  meta: { date: string; machine: string; seed: number; seconds: number },
): string {
  const out: string[] = [];
  out.push('# Reliability in figures', '');
  out.push(
    `Written by \`npm run faults -- --full\` (faults/run.ts) on ${meta.date.slice(0, 10)} (${meta.date}), on ${meta.machine}:`,
    `${outcomes.length} scenarios in ${Math.round(meta.seconds / 60)} min, chaos seed ${meta.seed} (\`npm run faults -- --full --seed ${meta.seed}\` replays the kills).`,
    'Every scenario runs against the real stack: Temporal dev server, PostgreSQL, moto S3 (behind a fault proxy where S3 faults are injected), real pg_dump, workers as processes killed with SIGKILL.',
    "Rows and objects are checked by counting every table and listing the bucket after the run, not by reading logs. Recovery: a worker's death → the next activity attempt started on a live worker, or the next workflow task that ran a local activity there (history event times); goal heartbeat timeout (5 s) + 3 s.",
    RESTORE_NOTE,
    '',
  );
  out.push(
    md(HEAD),
    md(HEAD.map(() => '---')),
    ...s.rows.map((r) => md(cells(r))),
    md(cells(s.total).map((c) => `**${c}**`)),
    '',
  );
  out.push(
    s.ok
      ? 'Every scenario ended as expected; every must-be-0 figure is 0.'
      : `**Not as expected:** ${s.failures.join('; ')}`,
    '',
  );
  out.push(
    '## Scenarios',
    '',
    md(['scenario', 'expected', 'got', 'faults', 'recovery', 'peak RSS', 'duration', 'problems']),
    md(Array(8).fill('---')),
  );
  for (const o of outcomes) {
    out.push(
      md([
        o.scenario,
        o.expected,
        o.got,
        String(o.faults),
        o.recoveryMs.length ? o.recoveryMs.map((m) => `${(m / 1000).toFixed(1)} s`).join(', ') : '-',
        o.peakRssMb ? `${o.peakRssMb} MB` : '-',
        `${Math.round(o.durationMs / 1000)} s`,
        o.problems.join('; ') || '-',
      ]),
    );
  }
  out.push('');
  return out.join('\n');
}

/**
 * The sections written by hand below the generated ones (what a run found and what changed for it, earlier
 * runs): everything from the first heading after "## Scenarios". A full run rewrites the figures and keeps these.
 */
export function handWrittenSections(previous: string | undefined): string {
  const at = previous?.indexOf('\n## Scenarios') ?? -1;
  const next = at < 0 ? -1 : previous!.indexOf('\n## ', at + 1);
  return next < 0 ? '' : previous!.slice(next + 1);
}
