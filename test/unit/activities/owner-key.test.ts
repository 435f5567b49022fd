/**
 * ownerKey decides what the purge (and the plan's count) may delete: an object belongs to a dropped
 * blob only when its key is `<prefix><blob key>` or `<prefix>variants/<blob key>/…`. Everything else —
 * look-alike keys, other prefixes, orphans — is never ours. Pure function, table-driven.
 */
import { ownerKey } from '../../../src/activities/lib/blobs';

const recorded = new Set(['abc123', 'xyz', 'with space', 'ünï']);

describe.each([
  ['app/', 'app/abc123', 'abc123', 'the blob itself under the prefix'],
  ['app/', 'app/variants/abc123/3f9a/thumb.png', 'abc123', 'an untracked variant'],
  ['app/', 'app/variants/xyz/a/b/c', 'xyz', 'a variant nested deeper'],
  ['app/', 'app/with space', 'with space', 'a key with a space'],
  ['app/', 'app/variants/ünï/x', 'ünï', 'a non-ASCII key'],
  ['', 'abc123', 'abc123', 'no prefix'],
  ['', 'variants/abc123/x', 'abc123', 'a variant with no prefix'],
  ['app/', 'abc123', undefined, 'the bare key outside the prefix'],
  ['app/', 'other/abc123', undefined, "another application's prefix"],
  ['app/', 'app2/abc123', undefined, 'a prefix that only starts alike'],
  ['app', 'app/abc123', undefined, 'a prefix without its slash does not strip one'],
  ['app/', 'app/abc1234', undefined, 'a longer key'],
  ['app/', 'app/abc12', undefined, 'a shorter key'],
  ['app/', 'app/ABC123', undefined, 'case differs'],
  ['app/', 'app/abc123/', undefined, 'a trailing slash'],
  ['app/', 'app/abc123.bak', undefined, 'a suffix'],
  ['app/', 'app/x/abc123', undefined, 'the key in a sub-folder'],
  ['app/', 'app/variants/abc123', undefined, 'variants/<key> with nothing under it is no variant'],
  ['app/', 'app/variants/abc1234/x', undefined, 'a variant of a longer key'],
  ['app/', 'app/variants/other/abc123/x', undefined, 'the key deeper in a variant path'],
  ['app/', 'app/x/variants/abc123/t', undefined, 'a variants folder that is not at the prefix'],
  ['app/', 'app/variantsabc123/x', undefined, 'variants without its slash'],
  ['app/', 'app/variants//abc123/x', undefined, 'an empty segment before the key'],
  ['app/', 'app/', undefined, 'the prefix itself'],
  ['app/', 'app/orphan-from-last-year', undefined, 'an orphan no recorded blob names'],
])('prefix %j, object %j', (prefix, key, owner, why) => {
  test(`→ ${owner === undefined ? 'kept' : `blob ${owner}`} (${why})`, () => {
    expect(ownerKey(key, prefix, recorded)).toBe(owner);
  });
});

test('an empty manifest owns nothing', () => {
  expect(ownerKey('app/abc123', 'app/', new Set())).toBeUndefined();
  expect(ownerKey('app/variants/abc123/x', 'app/', new Set())).toBeUndefined();
});
