/**
 * What stays in a target's backup store: the leftovers of an interrupted backup are removed before the
 * next one, and after it only the newest backup.keep backups remain, with the run state of their runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JOURNAL_PREFIX } from '../journal';
import { MANIFEST_PREFIX, PURGE_PROGRESS_PREFIX } from '../manifest';
import type { BackupStore, S3Store } from './backup-store';

/**
 * A concurrent reset of the same target is impossible (one workflow id per target), so its partials
 * are ours. Matched by the whole name (stamp and all), not a prefix: target "demo" must not take
 * "demo_2"'s partial file, written by another run at this very moment.
 */
export function removePartials(dir: string, target: string): void {
  const re = new RegExp(`^backup_pre_reset_${escapeRe(target)}_\\d{8}-\\d{6}(\\.[^/]+)?\\.dump\\.partial$`);
  // recursive: a parallel backup's (backup.jobs > 1) partial dump is a folder.
  for (const f of fs.readdirSync(dir)) if (re.test(f)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
}

const escapeRe = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const stampRe = (target: string) =>
  new RegExp(`^backup_pre_reset_${escapeRe(target)}_(\\d{8}-\\d{6})(\\.[a-z0-9_-]+)?\\.(dump|json)$`);

/** The S3 backup's record: written last, it is what makes the dumps of a stamp a backup. */
export function recordName(target: string, stamp: string): string {
  return `backup_pre_reset_${target}_${stamp}.json`;
}

/** Dumps in the bucket that no record vouches for: left by a run killed between upload and check. */
export async function removeUnrecorded(store: S3Store, target: string): Promise<void> {
  const re = stampRe(target);
  const items = await store.list(`backup_pre_reset_${target}_`);
  const recorded = new Set(
    items
      .map((i) => re.exec(i.name))
      .filter((m) => m?.[3] === 'json')
      .map((m) => m![1]),
  );
  await store.remove(
    items.filter((i) => re.exec(i.name)?.[3] === 'dump' && !recorded.has(re.exec(i.name)![1])).map((i) => i.name),
  );
}

/**
 * Keeps the newest `keep` backups of the target, and with them the run state that belongs to them: a
 * run writes its purge manifest and journal after taking its backup (runs of a target never overlap),
 * so the state stored before the oldest kept backup belongs to runs whose backups are gone. Both
 * times come from the same store's clock (file mtimes, or S3's LastModified).
 */
export async function pruneOldBackups(store: BackupStore, target: string, keep: number): Promise<void> {
  const re = stampRe(target);
  const items = await store.list(`backup_pre_reset_${target}_`);
  // A backup is complete when its dump is renamed into place (local) or its record written (S3).
  const complete = store.kind === 's3' ? 'json' : 'dump';
  const stamps = [
    ...new Set(
      items
        .map((i) => re.exec(i.name))
        .filter((m) => m?.[3] === complete)
        .map((m) => m![1]),
    ),
  ].sort();
  const kept = new Set(stamps.slice(-keep));
  const drop = items.filter((i) => {
    const m = re.exec(i.name);
    return m && stamps.includes(m[1]) && !kept.has(m[1]);
  });
  await store.remove(drop.map((i) => i.name));
  const keptItems = items.filter((i) => kept.has(re.exec(i.name)?.[1] ?? '') && re.exec(i.name)?.[3] === complete);
  if (keptItems.length === 0) return;
  const oldestKept = Math.min(...keptItems.map((i) => i.modified.getTime()));
  const runState = new RegExp(
    `^(${MANIFEST_PREFIX}|${PURGE_PROGRESS_PREFIX}|${JOURNAL_PREFIX})${escapeRe(target)}_[0-9a-f-]+(\\.delta)?\\.json$`,
  );
  const listed = await Promise.all(
    [MANIFEST_PREFIX, PURGE_PROGRESS_PREFIX, JOURNAL_PREFIX].map((p) => store.list(p + target + '_')),
  );
  const stale = listed.flat().filter((i) => runState.test(i.name) && i.modified.getTime() < oldestKept);
  await store.remove(stale.map((i) => i.name));
}
