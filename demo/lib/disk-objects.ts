/**
 * The demo's Disk service side: ActiveStorage's Disk layout, `<root>/<key[0..1]>/<key[2..3]>/<key>`
 * (src/activities/lib/disk-files.ts), written straight to a local folder. A million small files take
 * a minute here, where moto takes an hour for the same number of PUTs.
 *
 * Folder count: each folder costs a 4 KiB block, and hex keys would spread a million files over 65,536
 * `<xx>/<yy>` folders. On the Disk service the demo's keys therefore take only four values in
 * characters 3–4 (`limitFolders`; the SQL twin is DISK_BLOB_KEY_SQL), as bench/lib/memory-fixture.ts does:
 * 1,024 folders for all the blobs. The keys stay 28 lowercase hex characters, as Rails' would be base36.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { objectBody } from './objects';

/** Characters 3–4 of a hex key become "0" + one of 0–3: 1,024 first/second-level folders in all. */
export function limitFolders(key: string): string {
  return `${key.slice(0, 2)}0${parseInt(key.slice(2, 4), 16) % 4}${key.slice(4)}`;
}

/** pg_temp.blob_key for the Disk service: md5-derived like the S3 one, with limitFolders applied. */
export const DISK_BLOB_KEY_SQL = `CREATE OR REPLACE FUNCTION pg_temp.blob_key(k text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT substr(h, 1, 2) || '0' || (get_byte(decode(substr(h, 3, 2), 'hex'), 0) % 4)::text || substr(h, 5, 24)
        FROM (SELECT substr(md5('blob:' || k), 1, 28) AS h) x $$`;

/** Where ActiveStorage's Disk service keeps `key` (a blob key, or "variants/<blob key>/<digest>"). */
export function diskFile(root: string, key: string): string {
  return path.join(root, key.slice(0, 2), key.slice(2, 4), key);
}

/**
 * Writes each file (body objectBody(bodyKey), as the S3 side uploads) at storedKey's Disk path;
 * existing files are left as they are. Returns how many it wrote.
 */
export function writeDiskFiles(root: string, keys: { storedKey: string; bodyKey: string }[]): number {
  const made = new Set<string>();
  let written = 0;
  for (const { storedKey, bodyKey } of keys) {
    const file = diskFile(root, storedKey);
    const dir = path.dirname(file);
    if (!made.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    try {
      fs.writeFileSync(file, objectBody(bodyKey), { flag: 'wx' });
      written++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return written;
}
