/**
 * The plan's storage part: the files of every blob the truncation drops, per ActiveStorage service,
 * with the services left unconfigured or kept (purge: false), and a sample of their files checked.
 */
import * as fs from 'node:fs';
import { formatBytes, type Plan } from '../contract';
import { blobsByService, sampleBlobKeys, summariseBlobs } from './lib/blobs';
import { diskFileExists } from './lib/disk-files';
import { withClient } from './lib/postgres';
import { eachLimited } from './lib/quarantine';
import { objectExists, retryPlanIfTransient, s3ErrorText } from './lib/s3';
import type { ResolvedTarget } from './lib/target';

/**
 * blobsDropped: whether the truncation drops the blob table; a promise lets the blob table be read while the
 * tables are still being decided (nothing is sampled before it settles).
 */
export async function planStorage(
  t: ResolvedTarget,
  blobsDropped: boolean | Promise<boolean>,
  warnings: string[],
  errors: string[],
) {
  const services = t.config.storage?.services ?? {};
  const { sampleSize, concurrency } = t.config.storage ?? { sampleSize: 0, concurrency: 1 };
  return withClient(t.primary, async (c) => {
    const blobs = await summariseBlobs(c);
    if (!(await blobsDropped) || blobs.count === 0)
      return { blobs: { count: blobs.count, bytes: blobs.bytes }, objectsToDelete: { count: 0, bytes: 0 }, purged: [] };
    const objectsToDelete: Plan['objectsToDelete'] = { count: 0, bytes: 0 };
    const missing = blobs.services.filter((s) => !services[s]);
    if (missing.length) {
      errors.push(
        `blobs are stored on ActiveStorage service(s) ${missing.join(', ')} but storage.services has no entry for them; add the bucket ({"bucket": …}) or the Disk root ({"kind": "disk", "root": …}) so their files can be cleaned, or mark the service {"purge": false} to keep its files`,
      );
    }
    // From the blob table, not a listing of the bucket: the cost follows what the reset deletes.
    // Untracked variants (variants/<key>/…) have no row, so they are not in this count.
    const perService = await blobsByService(c);
    const purged = Object.entries(services).filter(([name, svc]) => {
      const n = perService.get(name);
      if (!n) return false;
      if (!svc.purge) {
        warnings.push(
          `service ${name} has purge: false: the files of its ${n.count} blob(s) (${formatBytes(n.bytes)}) stay ${svc.kind === 'disk' ? `in ${svc.root}` : `in bucket ${svc.bucket}`}; only their rows are truncated`,
        );
        return false;
      }
      if (svc.kind === 'disk' && !fs.existsSync(svc.root))
        errors.push(
          `the Disk service root ${svc.root} (service ${name}) does not exist on this worker; check storage.services.${name}.root`,
        );
      objectsToDelete.count += n.count;
      objectsToDelete.bytes += n.bytes;
      if (svc.kind === 'disk' && !t.config.storage?.quarantine)
        warnings.push(
          `service ${name} is a Disk service without storage.quarantine: its files are deleted for good, and a restore cannot bring them back`,
        );
      return true;
    });
    if (sampleSize > 0 && purged.length) {
      const sample = { checked: 0, present: 0 };
      // The sample is spread over the services in proportion to their blobs.
      for (const [name, svc] of purged) {
        const n = Math.max(1, Math.round((sampleSize * perService.get(name)!.count) / objectsToDelete.count));
        const keys = await sampleBlobKeys(c, name, Math.min(n, sampleSize - sample.checked));
        try {
          if (svc.kind === 'disk') {
            await eachLimited(keys, concurrency * 8, async (k) => {
              sample.checked++;
              if (await diskFileExists(svc.root, k)) sample.present++;
            });
          } else {
            const s3 = t.s3(svc);
            try {
              await eachLimited(keys, concurrency * 8, async (k) => {
                const present = await objectExists(s3, svc.bucket, `${svc.prefix ?? ''}${k}`);
                sample.checked++;
                if (present) sample.present++;
              });
            } finally {
              s3.destroy();
            }
          }
        } catch (err) {
          if (svc.kind === 's3') retryPlanIfTransient(err, `sampling bucket ${svc.bucket} (service ${name})`);
          errors.push(
            `cannot read ${svc.kind === 'disk' ? `Disk service root ${svc.root}` : `bucket ${svc.bucket}`} (service ${name}): ${svc.kind === 'disk' ? (err as Error).message : s3ErrorText(err)}; check ${svc.kind === 'disk' ? 'the folder and its permissions' : 'the endpoint, region and credentials'}`,
          );
        }
      }
      objectsToDelete.sample = sample;
      if (sample.checked > 0 && sample.present < sample.checked) {
        warnings.push(
          `${sample.checked - sample.present} of ${sample.checked} sampled blob(s) have no file in storage (already gone, or storage.services points at the wrong place): the purge will count them as done`,
        );
      }
    }
    return {
      blobs: { count: blobs.count, bytes: blobs.bytes },
      objectsToDelete,
      purged: purged.map(([name, svc]) => ({ name, svc, files: perService.get(name)!.count })),
    };
  });
}
