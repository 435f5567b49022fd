/**
 * The purge manifest: every blob key the truncation is about to drop, written before the TRUNCATE
 * (50,000 keys do not belong in workflow history) beside the backups (backup-store.ts: the local
 * folder, or the S3 destination that every worker reads). Written once per run and never rewritten:
 * after the TRUNCATE the blob table is empty, so a retry, on whatever worker, must read the first copy.
 */
import type { BlobRow } from './lib/blobs';
import type { BackupStore } from './lib/backup-store';

export interface Manifest {
  target: string;
  runId: string;
  createdAt: string;
  blobs: BlobRow[];
}

export const MANIFEST_PREFIX = 'purge_manifest_';

export function manifestName(target: string, runId: string): string {
  return `${MANIFEST_PREFIX}${target}_${runId}.json`;
}

export async function readManifest(store: BackupStore, name: string): Promise<Manifest | undefined> {
  const text = await store.readText(name);
  return text === undefined ? undefined : (JSON.parse(text) as Manifest);
}

export async function writeManifestOnce(store: BackupStore, name: string, m: Manifest): Promise<Manifest> {
  const existing = await readManifest(store, name);
  if (existing) return existing;
  await store.writeText(name, JSON.stringify(m));
  return m;
}

/** Where the manifest is, as the reset's result shows it: a path, or s3://bucket/key. */
export function manifestLocation(store: BackupStore, name: string): string {
  const d = store.describe(name);
  return d.kind === 'local' ? d.path : `s3://${d.bucket}/${d.key}`;
}
