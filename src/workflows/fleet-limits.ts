/**
 * A fleet's limits, resolved against its number of targets. The rules follow the tools operators
 * already know (Ansible's `serial` and `max_fail_percentage`, SSM's MaxConcurrency/MaxErrors):
 *
 * - a share of the targets rounds down, and a concurrency or a batch is at least 1 (25% of 3 is 1);
 * - `maxFailures` is how many failures are tolerated: the fleet stops starting children when the
 *   failures EXCEED it (0: the first failure stops it; "10%" of 10: the second does);
 * - batches: the last size repeats until every target has its turn ([1, "50%"] over 10 → 1, 5, 4).
 *
 * Plain code with no imports beyond types: the workflow, the CLI and the tests share it.
 */
import type { FleetLimits, Share } from '../contract';

const SHARE = /^(\d+(?:\.\d+)?)%$/;
export const SHARE_RULE = 'a whole number, or a percentage of the targets like "25%" (at most 100%)';

/** Whether a value is a count or a percentage; the workflow's input check and the CLI's both ask. */
export function isShare(v: unknown): v is Share {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0;
  if (typeof v !== 'string') return false;
  const m = SHARE.exec(v);
  return m !== null && Number(m[1]) <= 100;
}

/** A count or a share of `total`, rounded down. */
export function resolveShare(v: Share, total: number): number {
  if (typeof v === 'number') return v;
  return Math.floor((total * Number(SHARE.exec(v)![1])) / 100);
}

/** Batch sizes over `total` targets (sum = total). */
export function batchSizes(batches: Share[] | undefined, total: number): number[] {
  if (!batches?.length || total === 0) return total ? [total] : [];
  const out: number[] = [];
  let left = total;
  for (let i = 0; left > 0; i++) {
    const size = Math.min(left, Math.max(1, resolveShare(batches[Math.min(i, batches.length - 1)], total)));
    out.push(size);
    left -= size;
  }
  return out;
}

export const DEFAULT_MAX_CONCURRENT: Share = 1;
export const DEFAULT_MAX_FAILURES: Share = 0;

export function resolveLimits(
  total: number,
  databases: number,
  given: { maxConcurrent?: Share; maxFailures?: Share; batches?: Share[] },
): FleetLimits {
  const maxConcurrent = given.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  const maxFailures = given.maxFailures ?? DEFAULT_MAX_FAILURES;
  return {
    targets: total,
    databases,
    maxConcurrent: Math.max(1, resolveShare(maxConcurrent, total)),
    maxFailures: resolveShare(maxFailures, total),
    batches: batchSizes(given.batches, total),
    given: { maxConcurrent, maxFailures, ...(given.batches ? { batches: given.batches } : {}) },
  };
}
