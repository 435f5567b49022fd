/**
 * Bringing back what a reset's purge quarantined: S3 objects copied back from the quarantine bucket
 * (server-side; the copies stay until the bucket's lifecycle rule expires them), Disk files moved
 * back (renamed) from the root's quarantine folder. A retry does it again harmlessly: on S3 it copies
 * again; on Disk a file already moved back is no longer in the quarantine folder (and not counted again).
 */
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { moveTree } from '../lib/disk-files';
import { crashPoint } from '../lib/faults';
import { throwIfCancelled, withKeepalive } from '../lib/keepalive';
import { diskQuarantineDir, eachLimited, quarantineRunPrefix } from '../lib/quarantine';
import { copyObject, listUnder } from '../lib/s3';
import { resolveTarget, type ActivityDeps } from '../lib/target';

export async function restoreStorage(
  deps: ActivityDeps,
  args: { target: string; resetRunId: string },
): Promise<{ count: number; bytes: number }> {
  const t = resolveTarget(deps, args.target);
  const q = t.config.storage?.quarantine;
  if (!q)
    throw ApplicationFailure.nonRetryable(
      `Target "${t.name}" has no storage.quarantine: nothing to bring back.`,
      'BadConfig',
    );
  return withKeepalive(async (beat) => {
    let count = 0;
    let bytes = 0;
    for (const [name, svc] of Object.entries(t.config.storage!.services)) {
      if (svc.kind === 'disk') {
        throwIfCancelled();
        const dir = diskQuarantineDir(svc.root, q, args.resetRunId);
        try {
          const r = await moveTree(svc.root, dir, dir, path.resolve(svc.root));
          count += r.files;
          bytes += r.bytes;
        } catch (err) {
          // eslint-disable-next-line preserve-caught-error -- the message names the place and quotes the cause
          throw new Error(
            `Could not move the quarantined files of Disk service "${name}" back from ${dir} to ${svc.root}: ${(err as Error).message}. Fix the cause, then retry: files already back stay back.`,
          );
        }
        beat({ unit: 'objects', done: count });
        continue;
      }
      const s3 = t.s3(svc);
      const from = quarantineRunPrefix(q, args.resetRunId, name);
      // Pages of storage.pageSize keys, as the purge lists them (and so that a test has a middle to crash in).
      for await (const page of listUnder(s3, q.bucket!, from, undefined, t.config.storage!.pageSize)) {
        throwIfCancelled();
        await eachLimited(page, 16, async (o) => {
          const to = { bucket: svc.bucket, key: o.key.slice(from.length) };
          await copyObject(s3, { bucket: q.bucket!, key: o.key }, to).catch((err: Error) => {
            throw new Error(
              `Could not copy s3://${q.bucket}/${o.key} back to s3://${to.bucket}/${to.key}: ${err.message}. Fix the cause, then retry: copying again is harmless.`,
            );
          });
        });
        count += page.length;
        bytes += page.reduce((a, o) => a + o.size, 0);
        beat({ unit: 'objects', done: count });
        crashPoint('restoreStorage.copying');
      }
    }
    return { count, bytes };
  });
}
