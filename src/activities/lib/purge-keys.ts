/**
 * The purge by key: the manifest names every blob key the TRUNCATE dropped, so the purge deletes
 * those keys directly, in batches, instead of walking the bucket. Its cost grows with what is
 * deleted, not with what the bucket holds.
 *
 * The position (the heartbeat's opaque string) is an index into the manifest's rows of one service,
 * in the manifest's order (sorted by key): everything before `index` is done, plus the ranges in `skip` (batches that
 * finished while an earlier one was still in flight). A new worker resumes from it and deletes no
 * finished batch again; a batch in flight at a crash is sent again, which S3 answers as done.
 */
import type { BlobRow } from './blobs';

export interface PurgePosition {
  v: 2;
  /** The service in progress; services sorted before it are finished. '' before the first. */
  service: string;
  phase: 'keys' | 'variants' | 'done';
  /** Keys of `service` (in the manifest's sorted list) before this index are done. */
  index: number;
  /** Ranges [from, to) beyond `index` already done. */
  skip: [number, number][];
  /** In the variants phase: the listing resumes after this key (or folder name, on Disk, before variantsRows). */
  variantsAfter: string;
  /**
   * Disk, in the variants phase: the service's rows before this index are checked for a variants folder.
   * Absent in positions recorded before it (their Disk purge walked the folder by name: variantsAfter).
   */
  variantsRows?: number;
  deleted: number;
  /**
   * Of `deleted`, untracked variant files (the variants phase): no row names them, so the plan's count of
   * objects to delete does not include them. 0 in positions recorded before it.
   */
  variantsDeleted: number;
  bytes: number;
  /** Keys already gone from the source: quarantined (or deleted) by an earlier attempt whose position was lost. */
  alreadyGone: number;
  /** Keys whose object was in neither the source nor the quarantine: missing before the reset. */
  missing: number;
  /** A few of the missing keys, as `<bucket or Disk root>: <key>`, for the step's detail. */
  missingSample: string[];
  /** The same counts per service (a restore reads them from the purge's progress record). */
  services: Record<string, ServiceCounts>;
}

export interface ServiceCounts {
  deleted: number;
  bytes: number;
  alreadyGone: number;
  missing: number;
  /** Whether the purge put this service's objects in a quarantine (a restore can bring them back). */
  quarantined: boolean;
}

/** What one batch (or variant folder) did. */
export interface BatchCounts {
  deleted: number;
  bytes: number;
  alreadyGone: number;
  missing: number;
  missingKeys: string[];
}

export const MISSING_SAMPLE = 5;

export function startPosition(): PurgePosition {
  return {
    v: 2,
    service: '',
    phase: 'keys',
    index: 0,
    skip: [],
    variantsAfter: '',
    deleted: 0,
    variantsDeleted: 0,
    bytes: 0,
    alreadyGone: 0,
    missing: 0,
    missingSample: [],
    services: {},
  };
}

/**
 * Adds a batch's counts to the totals and to its service's (each key counted once: a batch is added only when it is
 * done).
 */
export function addCounts(pos: PurgePosition, service: string, quarantined: boolean, c: BatchCounts): void {
  const s = (pos.services[service] ??= { deleted: 0, bytes: 0, alreadyGone: 0, missing: 0, quarantined });
  for (const k of ['deleted', 'bytes', 'alreadyGone', 'missing'] as const) {
    pos[k] += c[k];
    s[k] += c[k];
  }
  for (const k of c.missingKeys) if (pos.missingSample.length < MISSING_SAMPLE) pos.missingSample.push(k);
}

/**
 * Keys (and variant files) dealt with so far: it only grows, so the larger of two positions of a run is the later one.
 */
export function progressOf(p: PurgePosition): number {
  return p.deleted + p.alreadyGone + p.missing;
}

const PHASES = ['keys', 'variants', 'done'];

/**
 * The later of two positions of the same run (the last heartbeat and the progress record: either can
 * be behind the other). Ties go to the one further along the service order and phases.
 */
export function laterPosition(a: PurgePosition, b: PurgePosition | undefined): PurgePosition {
  if (!b) return a;
  const key = (p: PurgePosition) =>
    [progressOf(p), p.service, PHASES.indexOf(p.phase), p.index, p.variantsAfter, p.variantsRows ?? -1] as const;
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] > kb[i] ? a : b;
  return a;
}

/**
 * Reads a heartbeat (or recorded) position; one recorded by the older listing-based purge restarts its service from the
 * first key.
 */
export function parsePosition(s: string | undefined): PurgePosition {
  if (!s) return startPosition();
  const p = JSON.parse(s) as Partial<PurgePosition> & { after?: string };
  // Positions recorded before the quarantine counts existed lack them: zero.
  if (p.v === 2) return { ...startPosition(), ...p };
  // { service, after, deleted, bytes }: deleting a key again is harmless, so resume at the service's start.
  return {
    ...startPosition(),
    service: p.service ?? '',
    phase: p.after === '\uffff' ? 'done' : 'keys',
    deleted: p.deleted ?? 0,
    bytes: p.bytes ?? 0,
  };
}

const byServiceKey = (a: BlobRow, b: BlobRow) =>
  a.service < b.service ? -1 : a.service > b.service ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;

/**
 * A version-1 manifest's blobs (read whole), sorted in place (service, key): the order the positions of
 * the purge that read them indexed. A version-2 manifest is written in that order and never sorted.
 */
export function sortManifestBlobs(blobs: BlobRow[]): void {
  for (let i = 1; i < blobs.length; i++) {
    if (byServiceKey(blobs[i - 1], blobs[i]) > 0) {
      blobs.sort(byServiceKey);
      return;
    }
  }
}

export interface KeyBatch {
  /** The index range [from, to) of the service's rows this batch stands for (referenced keys inside it are skipped). */
  from: number;
  to: number;
  keys: BlobRow[];
  /** Each key's index in the service's list (for a batch that partly failed: what of it is done). */
  indexes: number[];
}

/**
 * Batches of at most `size` doomed keys, from the position on, jumping over ranges already done, made
 * from a service's rows as they stream in: only the batch being filled is held here.
 */
export async function* keyBatches(
  chunks: AsyncIterable<BlobRow[]>,
  doomed: (key: string) => boolean,
  pos: PurgePosition,
  size: number,
): AsyncGenerator<KeyBatch> {
  const skip = [...pos.skip].sort((a, b) => a[0] - b[0]);
  let batch: KeyBatch = { from: pos.index, to: pos.index, keys: [], indexes: [] };
  let i = 0;
  for await (const chunk of chunks)
    for (const row of chunk) {
      const at = i++;
      if (at < pos.index) continue;
      while (skip.length && skip[0][1] <= at) skip.shift();
      if (skip.length && skip[0][0] <= at) {
        // Inside a range done before: what was gathered up to it goes out; the next batch starts after it.
        if (batch.to > batch.from) yield batch;
        batch = { from: skip[0][1], to: skip[0][1], keys: [], indexes: [] };
        continue;
      }
      batch.to = at + 1;
      if (doomed(row.key)) {
        batch.keys.push(row);
        batch.indexes.push(at);
      }
      if (batch.keys.length >= size) {
        yield batch;
        batch = { from: at + 1, to: at + 1, keys: [], indexes: [] };
      }
    }
  if (batch.to > batch.from) yield batch;
}

/**
 * Marks [from, to) done and moves the position's index over every contiguous done range; what is done
 * beyond it stays in `skip`, so a resume does not send it again.
 */
export function markDone(pos: PurgePosition, from: number, to: number): void {
  pos.skip.push([from, to]);
  pos.skip.sort((a, b) => a[0] - b[0]);
  while (pos.skip.length && pos.skip[0][0] <= pos.index) {
    pos.index = Math.max(pos.index, pos.skip[0][1]);
    pos.skip.shift();
  }
}

/**
 * The parts of a batch that are done although some of its keys failed: the index ranges between the
 * failed keys' indexes (a resume sends only the failed keys' stretch again).
 */
export function doneRanges(batch: KeyBatch, failed: Set<number>): [number, number][] {
  const out: [number, number][] = [];
  let start = batch.from;
  for (const i of [...failed].sort((a, b) => a - b)) {
    if (i > start) out.push([start, i]);
    start = i + 1;
  }
  if (batch.to > start) out.push([start, batch.to]);
  return out;
}

/**
 * Runs each item of `items` through `fn`, at most `limit` at a time, pulling lazily (the generator is
 * never drained ahead). The first failure stops new work; the ones in flight finish, then it is thrown.
 */
export async function runBounded<T>(
  items: Iterator<T> | AsyncIterator<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let failure: unknown;
  let failed = false;
  const lane = async () => {
    while (!failed) {
      // An async generator queues concurrent next() calls: each lane gets its own batch.
      const next = await items.next();
      if (next.done) return;
      try {
        await fn(next.value);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, lane));
  if (failed) throw failure;
}
