/**
 * The plan's undo line: what `reset-runbook restore` can bring back after this reset, said before the
 * approval. The tables always come back (the backup is taken before anything is touched); a purged
 * file comes back only if the purge keeps a copy of it first (storage.quarantine).
 */
import type { StorageServiceConfig, TargetConfig } from '../config/types';
import type { UndoPlan } from '../contract';

/**
 * Whether the files the purge deletes from this service can come back: with storage.quarantine, S3
 * objects are copied to the quarantine bucket and Disk files moved under the quarantine folder first.
 */
function filesComeBack(cfg: TargetConfig): boolean {
  return Boolean(cfg.storage?.quarantine);
}

/**
 * purged: the services whose files this reset deletes (blobs dropped, purge not turned off), with their blob counts.
 */
export function undoPlan(
  cfg: TargetConfig,
  purged: { name: string; svc: StorageServiceConfig; files: number }[],
): UndoPlan {
  const q = cfg.storage?.quarantine;
  const cannotComeBack = purged
    .filter(() => !filesComeBack(cfg))
    .map(({ name, svc, files }) => {
      const where = svc.kind === 'disk' ? `Disk, ${svc.root}` : `S3, bucket ${svc.bucket}`;
      const why = 'no storage.quarantine';
      return `files of service ${name} (${where}; ${files} blob${files === 1 ? '' : 's'}) are deleted for good: ${why}`;
    });
  const files: UndoPlan['files'] =
    purged.length === 0 ? 'none' : cannotComeBack.length ? 'not-quarantined' : 'quarantined';
  const kept =
    q?.days !== undefined
      ? `quarantine kept ${q.days} day${q.days === 1 ? '' : 's'}`
      : "quarantine kept as long as the bucket's lifecycle rule keeps it: storage.quarantine.days is not set";
  const summary =
    files === 'none'
      ? 'tables can come back (the backup); no file is deleted'
      : files === 'quarantined'
        ? `tables and files can come back (${kept})`
        : `tables can come back (the backup), but ${cannotComeBack.join('; ')}`;
  return { tables: true, files, ...(q?.days !== undefined ? { quarantineDays: q.days } : {}), cannotComeBack, summary };
}
