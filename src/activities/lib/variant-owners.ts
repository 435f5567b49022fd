/**
 * Which untracked variants (`<prefix>variants/<blob key>/…`, named by no row) belong to a dropped blob,
 * decided without holding the manifest's keys: the listing of `variants/` comes sorted, the manifest's
 * keys come sorted, and a merge of the two walks both once. Only an exact match of a listed folder with a
 * doomed key is ever deleted; a listing or manifest out of the expected order can make the merge miss a
 * variant (its files stay), never take a wrong one.
 */

/**
 * Code point order: UTF-8 byte order, the order S3 lists keys in and PostgreSQL's "C" collation sorts
 * them in. JavaScript's `<` compares UTF-16 units, which puts characters beyond U+FFFF (surrogate pairs)
 * before U+E000–U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1; // a surrogate stands for a code point above every other unit
    return x - y;
  }
  return a.length - b.length;
}

/** The blob key whose variants folder holds this object: `<prefix>variants/<key>/…`, else undefined. */
export function variantFolder(objectKey: string, prefix: string): string | undefined {
  if (!objectKey.startsWith(prefix)) return undefined;
  return /^variants\/([^/]+)\//.exec(objectKey.slice(prefix.length))?.[1];
}

/**
 * Keys sorted by key, re-ordered as their folders `<key>/` sort (the listing's order), a chunk at a time
 * as they come. The two orders differ only where a key is another's prefix followed by a character
 * before "/" ("ab-1/" lists before "ab/"): such a key is held back until the keys that extend it have
 * gone by. What is held is a chain of nested prefixes, as long as a key at most. Keys with a "/" have no
 * variants folder: left out.
 */
export async function* inFolderOrder(chunks: AsyncIterable<string[]>): AsyncGenerator<string[]> {
  const held: string[] = [];
  for await (const keys of chunks) {
    const out: string[] = [];
    for (const k of keys) {
      if (k.includes('/')) continue;
      for (let top = held.at(-1); top !== undefined; top = held.at(-1)) {
        if (k.startsWith(top) && k.charCodeAt(top.length) < 0x2f) break;
        out.push(held.pop()!);
      }
      held.push(k);
    }
    yield out;
  }
  yield held.reverse();
}

/**
 * A membership test for folder names asked in ascending listing order against keys in the same order
 * (a chunk at a time): each call moves the keys forward, never back, so nothing but the current chunk is held.
 */
export function folderMatcher(chunks: AsyncIterator<string[]>): (folder: string) => Promise<boolean> {
  let keys: string[] = [];
  let i = 0;
  let ended = false;
  return async (folder) => {
    const f = `${folder}/`;
    for (;;) {
      for (; i < keys.length; i++) if (compareCodePoints(`${keys[i]}/`, f) >= 0) return keys[i] === folder;
      if (ended) return false;
      const next = await chunks.next();
      if (next.done) ended = true;
      else [keys, i] = [next.value, 0];
    }
  };
}
