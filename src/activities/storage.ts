/**
 * Step 4 — clean orphaned S3 files. The runbook's `ActiveStorage::Blob.unattached.each(&:purge_later)`
 * finds nothing after a TRUNCATE (the blob rows are gone), so we work from the manifest the reset
 * step wrote: delete the objects of recorded blobs that no blob references after the seeds, and
 * nothing else — not orphans that predate the reset, not other applications' prefixes.
 * Walks the bucket in ListObjectsV2 pages and deletes each page with one DeleteObjects call;
 * the heartbeat carries the position, so a new worker resumes where a killed one stopped.
 * With storage.quarantine, each object is first copied there (server-side), so a restore can bring it back.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { HeartbeatProgress } from '../workflows/definitions';
import { ownerKey, readBlobs } from './lib/blobs';
import { crashPoint } from './lib/faults';
import { throwIfCancelled, withKeepalive } from './lib/keepalive';
import { withClient } from './lib/postgres';
import { copyObject, deleteBatch, listObjects } from './lib/s3';
import { eachLimited, quarantineKey } from './lib/quarantine';
import { resolveTarget, type ActivityDeps } from './lib/target';
import { backupStoreFor } from './lib/backup-store';
import { manifestLocation, manifestName, readManifest } from './manifest';

export interface PurgeResult {
  deleted: number;
  bytes: number;
  /** Blobs the seeds re-created with the same key: their files stay. */
  keptReferenced: number;
}

interface Position {
  service: string;
  after: string;
  deleted: number;
  bytes: number;
}

const KEY_RETRIES = 3;

export function createStorageActivities(deps: ActivityDeps) {
  return {
    /** resumeFrom: the last heartbeat position of an earlier attempt (the workflow passes it on when it retries the step). */
    async purgeStorage(args: { target: string; runId: string; expectedObjects?: number; resumeFrom?: string }): Promise<PurgeResult> {
      const t = resolveTarget(deps, args.target);
      const store = backupStoreFor(t.config.backup, t.s3);
      const name = manifestName(t.name, args.runId);
      const manifest = await readManifest(store, name);
      if (!manifest) {
        const hint = store.kind === 'local' ? ' A local backup.dir is read only by its own host: with several worker hosts, use an S3 backup.destination.' : '';
        throw ApplicationFailure.nonRetryable(`The purge manifest ${manifestLocation(store, name)} is missing; without it no object can be proven orphaned. Nothing was deleted.${hint}`, 'ManifestMissing');
      }
      const services = t.config.storage?.services ?? {};
      const quarantine = t.config.storage?.quarantine;
      const stillReferenced = new Set((await withClient(t.primary, readBlobs)).map((b) => `${b.service}\u0000${b.key}`));
      const resumeFrom = args.resumeFrom ?? (Context.current().info.heartbeatDetails as HeartbeatProgress | undefined)?.position;
      const pos: Position = resumeFrom ? JSON.parse(resumeFrom) : { service: '', after: '', deleted: 0, bytes: 0 };
      let keptReferenced = 0;

      return withKeepalive(async (beat) => {
        const report = () => beat({ unit: 'objects', done: pos.deleted, total: args.expectedObjects, position: JSON.stringify(pos) });
        for (const name of Object.keys(services).sort()) {
          if (pos.service && name < pos.service) continue; // finished before the crash
          const svc = services[name];
          const recorded = new Set<string>();
          for (const b of manifest.blobs) {
            if (b.service !== name) continue;
            if (stillReferenced.has(`${name}\u0000${b.key}`)) keptReferenced++;
            else recorded.add(b.key);
          }
          if (recorded.size === 0) continue;
          const s3 = t.s3(svc);
          const startAfter = pos.service === name ? pos.after : undefined;
          for await (const page of listObjects(s3, svc, startAfter, t.config.storage?.pageSize)) {
            // Paging stops at a cancellation; the heartbeat's position says where a new run would resume.
            throwIfCancelled();
            const doomed = page.filter((o) => ownerKey(o.key, svc.prefix ?? '', recorded));
            const sizes = new Map(doomed.map((o) => [o.key, o.size]));
            let pending = doomed.map((o) => o.key);
            for (let attempt = 1; pending.length && attempt <= KEY_RETRIES; attempt++) {
              throwIfCancelled();
              // Quarantine first: a copy exists before the original goes (a retry copies again, harmlessly).
              if (quarantine) await eachLimited(pending, 16, (k) => copyObject(s3, { bucket: svc.bucket, key: k }, { bucket: quarantine.bucket, key: quarantineKey(quarantine, args.runId, name, k) }));
              const r = await deleteBatch(s3, svc, pending);
              for (const k of r.deleted) {
                pos.deleted++;
                pos.bytes += sizes.get(k) ?? 0;
              }
              pending = r.errors.map((e) => e.key);
              if (pending.length && attempt === KEY_RETRIES) {
                const codes = [...new Set(r.errors.map((e) => e.code))].join(', ');
                // The position stays before this page, so the retry sees the failed keys again.
                report();
                throw new Error(`S3 refused to delete ${pending.length} object(s) in bucket ${svc.bucket} (${codes}), e.g. ${pending[0]}; ${pos.deleted} deleted so far. Check the bucket policy, then retry: it resumes here.`);
              }
              if (pending.length) await new Promise((res) => setTimeout(res, 500 * attempt));
            }
            if (page.length) {
              pos.service = name;
              pos.after = page[page.length - 1].key;
            }
            report();
            if (doomed.length) crashPoint('purge.afterFirstPage');
          }
          pos.service = name;
          pos.after = '\uffff'; // this service is done
          report();
        }
        crashPoint('purge.done');
        return { deleted: pos.deleted, bytes: pos.bytes, keptReferenced };
      });
    },
  };
}
