/**
 * The purge manifest: every blob key the truncation is about to drop, written to disk before the
 * TRUNCATE (50,000 keys do not belong in workflow history). Written once per run and never
 * rewritten: after the TRUNCATE the blob table is empty, so a retry must read the first copy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BlobRow } from './lib/blobs';

export interface Manifest {
  target: string;
  runId: string;
  createdAt: string;
  blobs: BlobRow[];
}

export function manifestPath(dir: string, target: string, runId: string): string {
  return path.join(dir, `purge_manifest_${target}_${runId}.json`);
}

export function readManifest(file: string): Manifest | undefined {
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
}

export function writeManifestOnce(file: string, m: Manifest): Manifest {
  const existing = readManifest(file);
  if (existing) return existing;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.partial`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(m));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return m;
}
