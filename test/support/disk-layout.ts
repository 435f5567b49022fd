/** Files as ActiveStorage's Disk service lays them out, for tests and measurements that make a service's folder. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A key's file, relative to the service's root: `ab/cd/abcd…`. */
export const diskKeyPath = (key: string) => path.join(key.slice(0, 2), key.slice(2, 4), key);

export const diskFile = (root: string, key: string) => path.join(root, diskKeyPath(key));

export function writeDiskFiles(root: string, keys: string[], body: (key: string) => string): void {
  for (const k of keys) {
    fs.mkdirSync(path.dirname(diskFile(root, k)), { recursive: true });
    fs.writeFileSync(diskFile(root, k), body(k));
  }
}
