/** Bringing back the objects a reset's purge quarantined. */
import { ApplicationFailure } from '@temporalio/common';
import { crashPoint } from '../lib/faults';
import { throwIfCancelled, withKeepalive } from '../lib/keepalive';
import { eachLimited, quarantineRunPrefix } from '../lib/quarantine';
import { copyObject, listUnder } from '../lib/s3';
import { resolveTarget, type ActivityDeps } from '../lib/target';

/** Copies the reset run's quarantined objects back to their original keys (server-side; a retry copies again, harmlessly). */
export async function restoreStorage(deps: ActivityDeps, args: { target: string; resetRunId: string }): Promise<{ count: number; bytes: number }> {
  const t = resolveTarget(deps, args.target);
  const q = t.config.storage?.quarantine;
  if (!q) throw ApplicationFailure.nonRetryable(`Target "${t.name}" has no storage.quarantine: nothing to bring back.`, 'BadConfig');
  return withKeepalive(async (beat) => {
    let count = 0;
    let bytes = 0;
    for (const [name, svc] of Object.entries(t.config.storage!.services)) {
      if (svc.kind !== 's3') continue;
      const s3 = t.s3(svc);
      const from = quarantineRunPrefix(q, args.resetRunId, name);
      // Pages of storage.pageSize keys, as the purge lists them (and so that a test has a middle to crash in).
      for await (const page of listUnder(s3, q.bucket, from, undefined, t.config.storage!.pageSize)) {
        throwIfCancelled();
        await eachLimited(page, 16, (o) => copyObject(s3, { bucket: q.bucket, key: o.key }, { bucket: svc.bucket, key: o.key.slice(from.length) }));
        count += page.length;
        bytes += page.reduce((a, o) => a + o.size, 0);
        beat({ unit: 'objects', done: count });
        crashPoint('restoreStorage.copying');
      }
    }
    return { count, bytes };
  });
}
