/**
 * Render primitives: tables, progress bars, step lists and durations, shared by every view
 * (run, plan, restore, fleet). Pure functions to text, so they are unit-tested without a server.
 */
import type { HeartbeatProgress, StepState } from '../contract';
import { formatDuration, formatRate, formatUnit, padVisible, truncate, visibleLength } from './format';
import { PLAIN, Style } from './style';

export interface TableOptions {
  align?: ('left' | 'right')[];
  indent?: string;
}

/** A plain text table: a header row, a rule, the rows; columns as wide as their widest cell. */
export function table(headers: string[], rows: string[][], opts: TableOptions = {}): string {
  const indent = opts.indent ?? '  ';
  const widths = headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    indent +
    cells
      .map((c, i) => padVisible(c ?? '', widths[i], opts.align?.[i] ?? 'left'))
      .join('  ')
      .replace(/\s+$/, '');
  return [line(headers), indent + widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface BarInput {
  label: string;
  progress: HeartbeatProgress;
  /** Units per second, if known. */
  rate?: number;
  width?: number;
}

/** `label  [██████░░░░░░]  45%  1.20 GiB / 2.67 GiB  34.1 MiB/s  ETA 42s` */
export function progressBar({ label, progress, rate, width = 30 }: BarInput, style: Style = PLAIN): string {
  const { unit, done, total } = progress;
  const parts = [padVisible(label, 10)];
  if (total !== undefined && total > 0) {
    const frac = Math.max(0, Math.min(1, done / total));
    const filled = Math.round(frac * width);
    parts.push(`[${style.cyan('█'.repeat(filled))}${'░'.repeat(width - filled)}]`);
    parts.push(`${String(Math.floor(frac * 100)).padStart(3)}%`);
    parts.push(`${formatUnit(done, unit)} / ${formatUnit(total, unit)}`);
  } else {
    parts.push(`[${'·'.repeat(width)}]`, '   ?', `${formatUnit(done, unit)}`);
  }
  if (rate !== undefined && rate > 0) {
    parts.push(formatRate(rate, unit));
    if (total !== undefined && total > done) parts.push(`ETA ${formatDuration(((total - done) / rate) * 1000)}`);
  }
  return parts.join('  ');
}

const STATUS_MARK: Record<string, string> = {
  pending: '·',
  running: '▶',
  done: '✔',
  failed: '✖',
  'waiting-for-operator': '⏸',
  skipped: '–',
};

export function stepDurationMs(step: StepState, now: Date): number | undefined {
  if (!step.startedAt) return undefined;
  const start = Date.parse(step.startedAt);
  const end = step.endedAt ? Date.parse(step.endedAt) : now.getTime();
  return end - start;
}

export function renderSteps(steps: StepState[], now: Date, style: Style = PLAIN): string {
  const color = (status: string, s: string) =>
    status === 'done'
      ? style.green(s)
      : status === 'failed'
        ? style.red(s)
        : status === 'waiting-for-operator'
          ? style.yellow(s)
          : status === 'running'
            ? style.cyan(s)
            : status === 'pending' || status === 'skipped'
              ? style.dim(s)
              : s;
  const rows = steps.map((s) => [
    color(s.status, STATUS_MARK[s.status] ?? '?'),
    s.title,
    color(s.status, s.status),
    formatDuration(stepDurationMs(s, now)),
    s.attempts > 1 ? String(s.attempts) : '',
    truncate((s.error ?? s.detail ?? '').replace(/\s+/g, ' '), 70),
  ]);
  return table(['', 'step', 'status', 'duration', 'tries', 'detail'], rows, {
    align: ['left', 'left', 'left', 'right', 'right', 'left'],
  });
}

/** "42 s ago" (seconds up to two minutes, then 3m05s). */
export function agoText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'just now';
  return ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : `${formatDuration(ms)} ago`;
}
