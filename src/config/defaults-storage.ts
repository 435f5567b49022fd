/** Defaults of the storage and plan settings (issue 9), in one place: the activities read them from here. */
import type { PlanConfig, StorageConfig, StorageServiceConfig } from './types';

export const STORAGE_DEFAULTS = { pageSize: 1000, concurrency: 4, sampleSize: 100 } as const;
export const PLAN_DEFAULTS = { exactCounts: false, estimateAboveRows: 100_000 } as const;

export function storageSettings(s: StorageConfig | undefined) {
  return {
    pageSize: s?.pageSize ?? STORAGE_DEFAULTS.pageSize,
    concurrency: s?.concurrency ?? STORAGE_DEFAULTS.concurrency,
    sampleSize: s?.sampleSize ?? STORAGE_DEFAULTS.sampleSize,
  };
}

export function planSettings(p: PlanConfig | undefined, exactCountsOverride?: boolean) {
  return {
    exactCounts: exactCountsOverride ?? p?.exactCounts ?? PLAN_DEFAULTS.exactCounts,
    estimateAboveRows: p?.estimateAboveRows ?? PLAN_DEFAULTS.estimateAboveRows,
  };
}

/** Whether the purge deletes this service's files (purge: false keeps them). */
export const purges = (svc: StorageServiceConfig): boolean => svc.purge !== false;
