/** Files as ActiveStorage's Disk service lays them out, for tests and measurements that make a service's folder. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A key's file, relative to the service's root: `ab/cd/abcd…`. */
export const diskKeyPath = (key: string) => path.join(key.slice(0, 2), key.slice(2, 4), key);

export const diskFile = (root: string, key: string) => path.join(root, diskKeyPath(key));

/** A file under a blob's variants folder, relative to the root: `va/ri/variants/<key>/<...parts>`. */
export const diskVariantPath = (key: string, ...parts: string[]) => path.join('va', 'ri', 'variants', key, ...parts);

/** One file at `rel` under the root, its folders made. */
export function writeDiskFile(root: string, rel: string, body: string): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, body);
}

export function writeDiskFiles(root: string, keys: string[], body: (key: string) => string): void {
  for (const k of keys) writeDiskFile(root, diskKeyPath(k), body(k));
}
