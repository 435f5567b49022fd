/**
 * The purge's position arithmetic (src/activities/lib/purge-keys.ts): batches of doomed keys from a
 * position, ranges done out of order, and what a partly failed batch leaves to do.
 */
import type { BlobRow } from '../../src/activities/lib/blobs';
import {
  addCounts,
  doneRanges,
  keyBatches,
  laterPosition,
  markDone,
  parsePosition,
  progressOf,
  sortManifestBlobs,
  startPosition,
} from '../../src/activities/lib/purge-keys';

const rows = (service: string, keys: string[]): BlobRow[] => keys.map((key) => ({ service, key, bytes: 1 }));

function manifest() {
  const blobs = [...rows('b', ['k9', 'k1']), ...rows('a', ['z', 'x', 'y']), ...rows('b', ['k5', 'k3', 'k7', 'k2'])];
  sortManifestBlobs(blobs);
  return blobs;
}

/** A service's rows as the manifest's reader gives them: chunks, here of two rows (a chunk ends mid-batch). */
async function* serviceRows(service: string): AsyncGenerator<BlobRow[]> {
  const rows = manifest().filter((b) => b.service === service);
  for (let i = 0; i < rows.length; i += 2) yield rows.slice(i, i + 2);
}

const collect = async <T>(g: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of g) out.push(x);
  return out;
};

test('a version-1 manifest is sorted by service, then key (the order recorded positions index)', () => {
  expect(manifest().map((b) => `${b.service}/${b.key}`)).toEqual([
    'a/x',
    'a/y',
    'a/z',
    'b/k1',
    'b/k2',
    'b/k3',
    'b/k5',
    'b/k7',
    'b/k9',
  ]);
});

test('batches hold at most `size` doomed keys, cover contiguous index ranges, and skip what is done', async () => {
  const doomed = (k: string) => k !== 'k3'; // k3: referenced again after the seeds
  const all = await collect(keyBatches(serviceRows('b'), doomed, startPosition(), 2));
  expect(all.map((b) => [b.from, b.to, b.keys.map((k) => k.key)])).toEqual([
    [0, 2, ['k1', 'k2']],
    [2, 5, ['k5', 'k7']],
    [5, 6, ['k9']],
  ]);
  const pos = { ...startPosition(), service: 'b', index: 1, skip: [[2, 5]] as [number, number][] };
  expect((await collect(keyBatches(serviceRows('b'), doomed, pos, 2))).map((b) => b.keys.map((k) => k.key))).toEqual([
    ['k2'],
    ['k9'],
  ]);
  // A skip range reaching past the last row, and one in the middle of a batch.
  const pos2 = {
    ...startPosition(),
    index: 0,
    skip: [
      [1, 2],
      [4, 99],
    ] as [number, number][],
  };
  expect((await collect(keyBatches(serviceRows('b'), doomed, pos2, 5))).map((b) => [b.from, b.to])).toEqual([
    [0, 1],
    [2, 4],
  ]);
});

test('the index moves over contiguous done ranges only; a partly failed batch keeps its failed stretch', () => {
  const pos = startPosition();
  markDone(pos, 4, 8);
  expect(pos.index).toBe(0);
  expect(pos.skip).toEqual([[4, 8]]);
  markDone(pos, 0, 4);
  expect(pos.index).toBe(8);
  expect(pos.skip).toEqual([]);
  expect(doneRanges({ from: 8, to: 12, keys: [], indexes: [] }, new Set([10]))).toEqual([
    [8, 10],
    [11, 12],
  ]);
  for (const [a, b] of doneRanges({ from: 8, to: 12, keys: [], indexes: [] }, new Set([10]))) markDone(pos, a, b);
  expect(pos.index).toBe(10);
  expect(pos.skip).toEqual([[11, 12]]);
});

test('a position recorded by the older listing purge restarts its service; no position starts at the beginning', () => {
  expect(parsePosition(JSON.stringify({ service: 'amazon', after: 'e2e/abc', deleted: 5, bytes: 50 }))).toMatchObject({
    service: 'amazon',
    phase: 'keys',
    index: 0,
    deleted: 5,
  });
  expect(parsePosition(JSON.stringify({ service: 'amazon', after: '\uffff', deleted: 5, bytes: 50 })).phase).toBe(
    'done',
  );
  expect(parsePosition(undefined)).toEqual(startPosition());
});

test('a position recorded before the quarantine counts reads with them at zero; of two positions the later one wins', () => {
  const old = {
    v: 2,
    service: 'amazon',
    phase: 'keys',
    index: 40,
    skip: [],
    variantsAfter: '',
    deleted: 40,
    bytes: 400,
  };
  const p = parsePosition(JSON.stringify(old));
  expect(p).toMatchObject({ ...old, alreadyGone: 0, missing: 0, missingSample: [], services: {}, variantsDeleted: 0 });
  const later = { ...p, index: 60, deleted: 50, alreadyGone: 10 };
  expect(laterPosition(p, later)).toBe(later);
  expect(laterPosition(later, p)).toBe(later);
  expect(laterPosition(p, undefined)).toBe(p);
  // Same count, further along: the next service, or the same one's next phase.
  const nextService = { ...p, service: 'local', index: 0 };
  expect(laterPosition(p, nextService)).toBe(nextService);
  const variants = { ...p, phase: 'variants' as const };
  expect(laterPosition(variants, p)).toBe(variants);
  expect(progressOf(later)).toBe(60);
});

test('counts are added per service and in total; the missing sample is bounded', () => {
  const p = startPosition();
  addCounts(p, 'amazon', true, {
    deleted: 3,
    bytes: 30,
    alreadyGone: 1,
    missing: 4,
    missingKeys: ['a', 'b', 'c', 'd'],
  });
  addCounts(p, 'local', false, { deleted: 2, bytes: 2, alreadyGone: 0, missing: 3, missingKeys: ['e', 'f', 'g'] });
  expect(p).toMatchObject({
    deleted: 5,
    bytes: 32,
    alreadyGone: 1,
    missing: 7,
    missingSample: ['a', 'b', 'c', 'd', 'e'],
  });
  expect(p.services).toEqual({
    amazon: { deleted: 3, bytes: 30, alreadyGone: 1, missing: 4, quarantined: true },
    local: { deleted: 2, bytes: 2, alreadyGone: 0, missing: 3, quarantined: false },
  });
});
