/** Small pure formatters shared by the renderers (formatBytes, which the plan uses too, is the contract's). */
import { formatBytes } from '../contract';

export function formatCount(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 850ms, 12.3s, 3m05s, 1h02m, 2d03h */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)}s`;
  const totalS = Math.floor(s);
  const m = Math.floor(totalS / 60);
  if (m < 60) return `${m}m${String(totalS % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

export type Unit = 'bytes' | 'objects' | 'tables' | 'processes';

export function formatUnit(n: number | undefined, unit: Unit): string {
  if (unit === 'bytes') return formatBytes(n);
  return `${formatCount(n)} ${unit}`;
}

export function formatRate(perSecond: number | undefined, unit: Unit): string {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return '';
  if (unit === 'bytes') return `${formatBytes(perSecond)}/s`;
  return `${perSecond >= 10 ? formatCount(perSecond) : perSecond.toFixed(1)} ${unit}/s`;
}

/** A timestamp as local-free ISO without milliseconds: 2026-11-26 15:04:05Z */
export function formatTime(iso: string | Date | undefined): string {
  if (!iso) return '-';
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return '-';
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** Visible width of a string (ANSI escapes do not count). */
export function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

export function padVisible(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const gap = Math.max(0, width - visibleLength(s));
  return align === 'left' ? s + ' '.repeat(gap) : ' '.repeat(gap) + s;
}

export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  return s.slice(0, Math.max(0, max - 1)) + '…';
}
