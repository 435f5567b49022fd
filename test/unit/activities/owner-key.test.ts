/**
 * What the purge's listing of `variants/` may delete: an object belongs to a dropped blob only when its
 * key is `<prefix>variants/<blob key>/…` and that key is a doomed one, found by a merge of the sorted
 * listing with the sorted manifest (src/activities/lib/variant-owners.ts). Everything else — look-alike
 * keys, other prefixes, orphans — is never ours. Table-driven, plus the orders the merge depends on.
 */
import {
  compareCodePoints,
  folderMatcher,
  inFolderOrder,
  variantFolder,
} from '../../../src/activities/lib/variant-owners';

/** The keys as the manifest gives them, `size` to a chunk (each test runs with several sizes). */
async function* from<T>(xs: T[], size: number): AsyncGenerator<T[]> {
  for (let i = 0; i < xs.length; i += size) yield xs.slice(i, i + size);
}
const collect = async <T>(g: AsyncIterable<T[]>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of g) out.push(...x);
  return out;
};
/** Chunk sizes: one key a chunk, chunk ends between any two keys, and every key in one chunk. */
const SIZES = [1, 2, 3, 1000];
const byCodePoint = (xs: string[]) => [...xs].sort(compareCodePoints);

describe.each([
  ['app/', 'app/variants/abc123/3f9a/thumb.png', 'abc123', 'an untracked variant'],
  ['app/', 'app/variants/xyz/a/b/c', 'xyz', 'a variant nested deeper'],
  ['app/', 'app/variants/ünï/x', 'ünï', 'a non-ASCII key'],
  ['', 'variants/abc123/x', 'abc123', 'a variant with no prefix'],
  ['app/', 'app/abc123', undefined, 'the blob itself: deleted by key, not by the listing'],
  ['app/', 'other/variants/abc123/x', undefined, "another application's prefix"],
  ['app/', 'app2/variants/abc123/x', undefined, 'a prefix that only starts alike'],
  ['app/', 'app/variants/abc123', undefined, 'variants/<key> with nothing under it is no variant'],
  ['app/', 'app/x/variants/abc123/t', undefined, 'a variants folder that is not at the prefix'],
  ['app/', 'app/variantsabc123/x', undefined, 'variants without its slash'],
  ['app/', 'app/variants//abc123/x', undefined, 'an empty segment before the key'],
  ['app/', 'app/', undefined, 'the prefix itself'],
])('prefix %j, object %j', (prefix, key, folder, why) => {
  test(`→ ${folder === undefined ? 'no variant folder' : `folder ${folder}`} (${why})`, () => {
    expect(variantFolder(key, prefix)).toBe(folder);
  });
});

test.each(SIZES)(
  'the merge finds exactly the doomed keys among listed folders, whatever lies between them (chunks of %i)',
  async (size) => {
    const doomed = byCodePoint(['abc123', 'with space', 'xyz', 'ünï']);
    const owned = folderMatcher(inFolderOrder(from(doomed, size)));
    const listed = byCodePoint(['abc12', 'abc123', 'abc1234', 'ABC123', 'orphan', 'with space', 'xyz', 'zzz', 'ünï']);
    const hits: string[] = [];
    for (const f of [...listed].sort((a, b) => compareCodePoints(`${a}/`, `${b}/`))) if (await owned(f)) hits.push(f);
    expect(hits).toEqual(['abc123', 'with space', 'xyz', 'ünï']);
    // An empty manifest owns nothing.
    expect(await folderMatcher(inFolderOrder(from<string>([], size)))('abc123')).toBe(false);
  },
);

test.each(SIZES)(
  'keys sorted by key come out in their folders\' order ("ab-1/" before "ab/"); keys with a slash have no folder (chunks of %i)',
  async (size) => {
    const keys = byCodePoint(['ab', 'ab-1', 'ab-2', 'ab.x', 'ab0', 'ab/c', 'b', 'a b', 'a']);
    const out = await collect(inFolderOrder(from(keys, size)));
    const folders = ['ab', 'ab-1', 'ab-2', 'ab.x', 'ab0', 'b', 'a b', 'a'].sort((x, y) =>
      compareCodePoints(`${x}/`, `${y}/`),
    );
    expect(out).toEqual(folders);
    // And the merge over them finds every one, asked in listing order.
    const owned = folderMatcher(inFolderOrder(from(keys, size)));
    for (const f of folders) expect(await owned(f)).toBe(true);
  },
);

test('code point order is UTF-8 byte order (S3 listings, PostgreSQL "C"), not UTF-16 order', () => {
  const astral = '\u{1F600}'; // a surrogate pair in UTF-16
  const high = '\uFF21'; // a BMP character above the surrogates
  expect(astral < high).toBe(true); // JavaScript's own comparison
  expect(compareCodePoints(astral, high)).toBeGreaterThan(0);
  expect(Buffer.compare(Buffer.from(astral), Buffer.from(high))).toBeGreaterThan(0);
  expect(compareCodePoints('abc', 'abd')).toBeLessThan(0);
  expect(compareCodePoints('ab', 'abc')).toBeLessThan(0);
  expect(compareCodePoints('x', 'x')).toBe(0);
});
