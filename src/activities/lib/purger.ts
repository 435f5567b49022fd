/** What the purge loop (storage.ts) asks of one storage service: S3 (s3-purger.ts) or Disk (disk-purger.ts). */
import type { BlobRow } from './blobs';
import type { BatchCounts, PurgePosition } from './purge-keys';

/** One service's doomed keys (recorded, not referenced after the seeds) with their row index: a fresh reading of the manifest each call. */
export type DoomedKeys = () => AsyncGenerator<{ key: string; index: number }[]>;

export interface BatchResult extends BatchCounts {
  /** Some keys kept failing (the step's retry resumes): what of the batch is done stays done. */
  error?: Error;
  /** With error: the blob keys (without prefix) still not dealt with. */
  failed?: Set<string>;
}

export interface Purger {
  /** Whether what it removes goes to a quarantine first (a restore can bring it back). */
  readonly quarantined: boolean;
  /** Removes the batch's keys, retrying refused ones; `error` when some keep failing, with their blob keys. */
  deleteKeys(keys: BlobRow[], doneSoFar: () => number): Promise<BatchResult>;
  /** The untracked variants of the doomed keys; `add` counts what went, `checkpoint` records the position. */
  deleteVariants(
    doomed: DoomedKeys,
    pos: PurgePosition,
    settings: { pageSize: number; concurrency: number },
    add: (c: BatchCounts) => void,
    checkpoint: () => void,
  ): Promise<void>;
  close(): void;
}

export const KEY_RETRIES = 3;
export const pause = (attempt: number) => new Promise((res) => setTimeout(res, 500 * attempt));

export function noCounts(): BatchCounts {
  return { deleted: 0, bytes: 0, alreadyGone: 0, missing: 0, missingKeys: [] };
}

/** Folds b into a (a batch retried within one attempt). */
export function plus(a: BatchCounts, b: BatchCounts): BatchCounts {
  return {
    deleted: a.deleted + b.deleted,
    bytes: a.bytes + b.bytes,
    alreadyGone: a.alreadyGone + b.alreadyGone,
    missing: a.missing + b.missing,
    missingKeys: [...a.missingKeys, ...b.missingKeys],
  };
}
