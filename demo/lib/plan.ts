/**
 * How much data a scale makes. Scale 1 ("small") is a few hundred rows and about fifty S3 objects;
 * "large" is over a million rows and over fifty thousand objects; "xlarge" ten times that (about 11 M
 * rows and 650,000 files: meant for the Disk service, `--storage-dir`, as moto takes an hour for that
 * many uploads). Every count scales linearly: about 847 rows and 50 objects per scale unit.
 */

export const SCALES = { small: 1, large: 1300, xlarge: 13000 } as const;

export function parseScale(value: string | number | undefined): number {
  if (value === undefined || value === '') return SCALES.small;
  if (typeof value === 'string' && value in SCALES) return SCALES[value as keyof typeof SCALES];
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`scale must be "small", "large", "xlarge" or a positive integer, not ${JSON.stringify(value)}`);
  return n;
}

/** Per scale unit. Children (loans, installments, payments...) follow from these by the rules in app-rows.ts. */
export function planFor(scale: number) {
  return {
    customers: 20 * scale, // 1 credit application each; 9 in 10 approved → a loan, contract, device...
    sessions: 5 * scale,
    jobs: {
      ready: 5 * scale,
      claimed: 2 * scale, // claimed by a worker whose host crashed (stale heartbeat)
      blocked: 2 * scale,
      scheduled: 3 * scale,
      failed: 2 * scale,
      recurring: 3 * scale,
      finished: 20 * scale,
    },
    orphanObjects: 3 * scale,
    otherAppObjects: 3 * scale,
  };
}
export type Plan = ReturnType<typeof planFor>;

/**
 * The fixed "now" of generated data. Timestamps derive from it and the row number, never from the clock,
 * so two loads with the same seed are identical row for row.
 */
export const DEFAULT_BASE_TIME = '2025-06-01 12:00:00';
