/**
 * The purge manifest: every blob key the truncation is about to drop, written before the TRUNCATE
 * (50,000 keys do not belong in workflow history) beside the backups (backup-store.ts: the local
 * folder, or the S3 destination that every worker reads). Written once per run and never rewritten:
 * after the TRUNCATE the blob table is empty, so a retry, on whatever worker, must read the first copy.
 * Its bytes are JSON lines, streamed both ways (lib/manifest-format.ts); the name keeps its `.json`
 * ending, which retention and operators already know.
 */
import type { Client } from 'pg';
import type { BlobRow } from './lib/blobs';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupStore } from './lib/backup-store';
import { newerThanSql, withBlobLines } from './lib/blob-lines';
import { streamBlobs } from './lib/blobs';
import {
  emptyTotals,
  manifestChunks,
  type BlobHorizon,
  manifestFromLines,
  openManifest,
  type ManifestHeader,
  type ManifestReader,
  type ManifestTotals,
} from './lib/manifest-format';
import { parsePosition, type PurgePosition } from './lib/purge-keys';

export const MANIFEST_PREFIX = 'purge_manifest_';

export function manifestName(target: string, runId: string): string {
  return `${MANIFEST_PREFIX}${target}_${runId}.json`;
}

/** The reset's delta of a manifest written before the workers stopped (manifest-format.ts, version 3). */
export function manifestDeltaName(target: string, runId: string): string {
  return `${MANIFEST_PREFIX}${target}_${runId}.delta.json`;
}

export function readManifest(store: BackupStore, name: string): Promise<ManifestReader | undefined> {
  return openManifest(store, name, manifestLocation(store, name));
}

/**
 * Writes the manifest from rows as they arrive (a cursor's), unless one is there already: then that one,
 * checked, is the answer (after this run's TRUNCATE only the first copy is true). The totals either way.
 */
export async function writeManifestOnce(
  store: BackupStore,
  name: string,
  m: ManifestHeader & { blobs: AsyncIterable<BlobRow> | Iterable<BlobRow> },
): Promise<ManifestTotals> {
  const existing = await readManifest(store, name);
  if (existing) return existing.check();
  const { blobs, ...header } = m;
  const totals = emptyTotals();
  await store.writeStream(name, manifestChunks(header, blobs, totals));
  return totals;
}

/**
 * The blob table's keys into the store: the whole table straight from PostgreSQL's COPY (lib/blob-lines.ts),
 * or, with `since`, only the rows a reading with that horizon may have missed (a delta: few rows, so one
 * cursor over them, not COPY's two scans of the table). With `delta`, the manifest is written as version
 * 3, naming that delta and its own horizon. Overwrites. Returns what it wrote (the totals, and the horizon
 * of a version 3), so that the writer need not read the file back to learn them.
 */
export async function writeTableManifest(
  store: BackupStore,
  name: string,
  c: Client,
  header: ManifestHeader,
  opts: { delta?: string; since?: BlobHorizon } = {},
): Promise<WrittenManifest> {
  if (opts.since) {
    const totals = emptyTotals();
    await store.writeStream(name, manifestChunks(header, streamBlobs(c, 2000, newerThanSql(opts.since)), totals));
    return totals;
  }
  return withBlobLines(c, async ({ horizon, totals, lines }) => {
    const h = opts.delta ? { ...header, horizon, delta: opts.delta } : header;
    await store.writeStream(name, manifestFromLines(h, lines, totals));
    return opts.delta ? { ...totals, horizon } : totals;
  });
}

export type WrittenManifest = ManifestTotals & { horizon?: BlobHorizon };

/** Where the manifest is, as the reset's result shows it: a path, or s3://bucket/key. */
export function manifestLocation(store: BackupStore, name: string): string {
  const d = store.describe(name);
  return d.kind === 'local' ? d.path : `s3://${d.bucket}/${d.key}`;
}

/**
 * The purge's progress record, beside its manifest: the position after each finished batch. A
 * heartbeat can be throttled away before a crash, and an operator's retry is a new activity with no
 * heartbeat at all; any attempt, on any worker, reads this and resumes where the last one got to.
 */
export const PURGE_PROGRESS_PREFIX = 'purge_progress_';

export interface PurgeProgressRecord {
  target: string;
  runId: string;
  updatedAt: string;
  position: PurgePosition;
}

export function purgeProgressName(target: string, runId: string): string {
  return `${PURGE_PROGRESS_PREFIX}${target}_${runId}.json`;
}

export async function readPurgeProgress(
  store: BackupStore,
  target: string,
  runId: string,
): Promise<PurgePosition | undefined> {
  const name = purgeProgressName(target, runId);
  const text = await store.readText(name);
  if (text === undefined) return undefined;
  try {
    return parsePosition(JSON.stringify((JSON.parse(text) as PurgeProgressRecord).position));
  } catch (err) {
    // Retrying cannot fix a damaged record: the operator removes it (what is gone is skipped on the way).
    throw ApplicationFailure.nonRetryable(
      `The purge progress record ${manifestLocation(store, name)} cannot be read (${(err as Error).message}); delete it to start the purge over from the first key (safe: a purge run again skips what is gone).`,
      'PurgeRecordUnreadable',
    );
  }
}

/**
 * Writes the record; calls while a write is in flight coalesce into one more write of the latest
 * position, so records never go back and at most one write is outstanding. `flush` waits for it.
 */
export function purgeProgressWriter(store: BackupStore, target: string, runId: string, position: () => PurgePosition) {
  const name = purgeProgressName(target, runId);
  let running: Promise<void> | undefined;
  let again = false;
  let failure: Error | undefined;
  const writeLoop = async () => {
    do {
      again = false;
      const record: PurgeProgressRecord = { target, runId, updatedAt: new Date().toISOString(), position: position() };
      try {
        await store.writeText(name, JSON.stringify(record));
      } catch (err) {
        failure ??= new Error(
          `Could not record the purge's progress at ${manifestLocation(store, name)}: ${(err as Error).message}. Check that the backup store is writable, then retry: the purge resumes from its last record.`,
        );
      }
    } while (again && !failure);
    running = undefined;
  };
  return {
    save(): void {
      if (failure) throw failure;
      if (running) again = true;
      else running = writeLoop();
    },
    /** Waits for the last write; throws if any write failed. */
    async flush(): Promise<void> {
      while (running) await running;
      if (failure) throw failure;
    },
  };
}
