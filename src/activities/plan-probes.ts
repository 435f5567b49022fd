/**
 * The plan proves, before anything is touched, that the places the run will write to take a write:
 * the quarantine bucket (the purge copies each object there before deleting it) and the backup store
 * (the backup, the purge manifest and the journal). Each probe writes a small object and removes it
 * again; a failure is a plan error naming the bucket or folder and the error, so a run is refused at
 * the plan rather than paused after its TRUNCATE.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Store } from './lib/backup-store';
import { retryPlanIfTransient, s3ErrorText } from './lib/s3';
import type { ResolvedTarget } from './lib/target';

const PROBE = 'reset-runbook-plan-probe-';
const BODY = 'written and removed by the plan of reset-runbook; safe to delete\n';

/** storage.quarantine: written through the client of each S3 service whose files are purged (the copy runs there). */
export async function probeQuarantine(t: ResolvedTarget, errors: string[], warnings: string[]): Promise<void> {
  const q = t.config.storage?.quarantine;
  if (!q?.bucket) return; // Disk services only: their quarantine folder is checked with the root
  const bucket = q.bucket;
  const root = q.prefix === '' || q.prefix.endsWith('/') ? q.prefix : `${q.prefix}/`;
  const seen = new Set<string>();
  for (const [name, svc] of Object.entries(t.config.storage!.services)) {
    if (svc.kind !== 's3' || !svc.purge) continue;
    const via = JSON.stringify([svc.endpoint, svc.region, svc.forcePathStyle]);
    if (seen.has(via)) continue;
    seen.add(via);
    const key = `${root}${PROBE}${randomUUID()}`;
    const s3 = t.s3(svc);
    try {
      await writeAndRemove(s3, bucket, key, warnings, 'storage.quarantine');
    } catch (err) {
      retryPlanIfTransient(err, `writing a probe to the quarantine bucket ${q.bucket}`);
      errors.push(
        `the quarantine bucket ${q.bucket} (storage.quarantine, reached with the settings of service ${name}) cannot be written: PutObject ${q.bucket}/${key} failed: ${s3ErrorText(err)}. The purge copies every object there before deleting it; create the bucket (with a lifecycle rule expiring ${root || 'its objects'}${q.days ? ` after ${q.days} days` : ''}), give the worker's credentials s3:PutObject on it, or fix storage.quarantine.bucket`,
      );
    } finally {
      s3.destroy();
    }
  }
}

/**
 * The backup store (backup.destination in S3, or the local backup.dir): the run writes the backup, the manifest and the
 * journal there.
 */
export async function probeBackupStore(t: ResolvedTarget, errors: string[], warnings: string[]): Promise<void> {
  const b = t.config.backup;
  if (b.destination?.kind === 's3') {
    const store = new S3Store(b.destination, t.s3);
    const name = `${PROBE}${randomUUID()}`;
    const at = store.describe(name);
    try {
      // Through the store, so the probe is written as the backup will be (server-side encryption included).
      await store.writeText(name, BODY);
      await remove(store.s3, b.destination.bucket, store.key(name), warnings, 'backup.destination');
    } catch (err) {
      retryPlanIfTransient(err, `writing a probe to the backup destination bucket ${b.destination.bucket}`);
      errors.push(
        `the backup destination bucket ${b.destination.bucket} (backup.destination) cannot be written: PutObject ${at.bucket}/${at.key} failed: ${s3ErrorText(err)}. The backup, the purge manifest and the journal are kept there; create the bucket, give the worker's credentials s3:PutObject on it, or fix backup.destination`,
      );
    } finally {
      store.s3.destroy();
    }
    return;
  }
  if (!b.dir) return;
  // A folder that does not exist yet is made by the backup: its nearest existing ancestor must take it.
  let dir = path.resolve(b.dir);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    if (dir !== path.resolve(b.dir)) {
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
      return;
    }
    const file = path.join(dir, `${PROBE}${randomUUID()}`);
    fs.writeFileSync(file, BODY, { mode: 0o600 });
    fs.rmSync(file, { force: true });
  } catch (err) {
    errors.push(
      `the backup folder ${b.dir} (backup.dir) cannot be written on this worker: ${(err as Error).message}. Fix its permissions or point backup.dir elsewhere`,
    );
  }
}

async function writeAndRemove(
  s3: S3Client,
  bucket: string,
  key: string,
  warnings: string[],
  setting: string,
): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: BODY, ContentType: 'text/plain' }));
  await remove(s3, bucket, key, warnings, setting);
}

/** A probe that stays is not worth refusing the run for: it is said, with its key. */
async function remove(s3: S3Client, bucket: string, key: string, warnings: string[], setting: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    warnings.push(
      `the plan wrote a probe object to ${bucket}/${key} (${setting}) and could not remove it (${s3ErrorText(err)}): delete it by hand`,
    );
  }
}
