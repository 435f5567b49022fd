/**
 * Step 4 — clean orphaned files. The runbook's `ActiveStorage::Blob.unattached.each(&:purge_later)`
 * finds nothing after a TRUNCATE (the blob rows are gone), so we work from the manifest the reset
 * step wrote: delete the files of recorded blobs that no blob references after the seeds, and
 * nothing else — not orphans that predate the reset, not other applications' prefixes.
 * By key (lib/purge-keys.ts): DeleteObjects of pageSize keys, `concurrency` calls in flight; only the
 * untracked variants, which no row names, are listed (one listing of `<prefix>variants/`). Disk
 * services: the same, with unlink (lib/disk-purger.ts). With storage.quarantine, each S3 object is
 * first copied there (server-side), and each Disk file moved to the root's quarantine folder, so a
 * restore can bring it back.
 *
 * Resuming: the position goes out with each heartbeat (the live progress bar) and, after each finished
 * batch, into the purge's progress record beside its manifest (manifest.ts), which any worker reads. A
 * new attempt — a killed worker's, a non-timeout failure's, an operator's retry — starts from the later
 * of the two, so no finished batch is sent again, and the counts add up across attempts.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { HeartbeatProgress } from '../contract';
import { readBlobs } from './lib/blobs';
import { diskPurger } from './lib/disk-purger';
import { crashPoint } from './lib/faults';
import { throwIfCancelled, withKeepalive } from './lib/keepalive';
import { withClient } from './lib/postgres';
import {
  addCounts,
  doneRanges,
  keyBatches,
  laterPosition,
  markDone,
  parsePosition,
  progressOf,
  runBounded,
  type KeyBatch,
} from './lib/purge-keys';
import type { DoomedKeys } from './lib/purger';
import { s3Purger } from './lib/s3-purger';
import { resolveTarget, type ActivityDeps } from './lib/target';
import { backupStoreFor } from './lib/backup-store';
import { manifestLocation, manifestName, purgeProgressWriter, readManifest, readPurgeProgress } from './manifest';

/**
 * deleted + alreadyGone + missing = the manifest's doomed keys (its keys but the keptReferenced ones)
 * + the untracked variant files removed; each key is counted once, across every attempt.
 */
export interface PurgeResult {
  /** Removed by this purge (with a quarantine: copied or moved there first). */
  deleted: number;
  /** Of `deleted`: untracked variant files, which the plan's count of objects to delete leaves out (no row names them). */
  variants: number;
  bytes: number;
  /** Blobs the seeds re-created with the same key: their files stay. */
  keptReferenced: number;
  /**
   * Already gone from the source when reached: quarantined (or, without one, deleted) by an attempt whose progress was
   * not recorded.
   */
  alreadyGone: number;
  /** In neither the source nor the quarantine: the file was missing before the reset (only known with a quarantine). */
  missing: number;
  /** A few of the missing, as `s3://bucket/key` or `<Disk root>: <key>`. */
  missingSample: string[];
}

export function createStorageActivities(deps: ActivityDeps) {
  return {
    /**
     * resumeFrom: the last heartbeat position of an earlier attempt (the workflow passes it on when it retries the
     * step).
     */
    async purgeStorage(args: {
      target: string;
      runId: string;
      expectedObjects?: number;
      resumeFrom?: string;
    }): Promise<PurgeResult> {
      const t = resolveTarget(deps, args.target);
      const store = backupStoreFor(t.config.backup, t.s3);
      const name = manifestName(t.name, args.runId);
      const manifest = await readManifest(store, name);
      if (!manifest) {
        const hint =
          store.kind === 'local'
            ? ' A local backup.dir is read only by its own host: with several worker hosts, use an S3 backup.destination.'
            : '';
        throw ApplicationFailure.nonRetryable(
          `The purge manifest ${manifestLocation(store, name)} is missing; without it no object can be proven orphaned. Nothing was deleted.${hint}`,
          'ManifestMissing',
        );
      }
      const services = t.config.storage?.services ?? {};
      const settings = t.config.storage!; // pageSize, concurrency: filled in at load
      const quarantine = t.config.storage?.quarantine;
      // The later of the last heartbeat (a killed worker's, passed on by the workflow) and the record.
      const heartbeat =
        args.resumeFrom ?? (Context.current().info.heartbeatDetails as HeartbeatProgress | undefined)?.position;
      const pos = laterPosition(parsePosition(heartbeat), await readPurgeProgress(store, t.name, args.runId));
      const record = purgeProgressWriter(store, t.name, args.runId, () => pos);
      let keptReferenced = 0;

      return withKeepalive(async (beat) => {
        // After the seeds the blob table holds only what they made: a small set.
        const stillReferenced = new Map<string, Set<string>>();
        for (const b of await withClient(t.primary, readBlobs)) {
          if (!stillReferenced.has(b.service)) stillReferenced.set(b.service, new Set());
          stillReferenced.get(b.service)!.add(b.key);
        }
        const referenced = (svc: string) => stillReferenced.get(svc) ?? new Set<string>();
        // The whole manifest read once, checked, before anything is deleted (heartbeating: a million rows
        // take seconds): a cut or altered one deletes nothing. Only its counts are kept: rows and
        // still-referenced keys per service.
        const keptPerService = new Map<string, number>();
        const totals = await manifest.check((b) => {
          if (referenced(b.service).has(b.key)) keptPerService.set(b.service, (keptPerService.get(b.service) ?? 0) + 1);
        });
        // The plan's figure counts blobs only; untracked variants come on top, so the total grows with them.
        // Done: every key dealt with (already gone and missing ones too), so a resumed bar still reaches its end.
        const report = () => {
          const done = progressOf(pos);
          beat({
            unit: 'objects',
            done,
            total: args.expectedObjects === undefined ? undefined : Math.max(args.expectedObjects, done),
            position: JSON.stringify(pos),
          });
        };
        /** After a batch: the live bar, and the durable record a retry resumes from. */
        const checkpoint = () => {
          report();
          record.save();
        };
        let crashed = false;
        // The fault suite's crash point: after the first batch, once its record is on disk.
        const firstBatchDone = async () => {
          if (!crashed) {
            crashed = true;
            await record.flush();
            crashPoint('purge.afterFirstPage');
          }
        };
        for (const svcName of Object.keys(services).sort()) {
          const svc = services[svcName];
          const rowCount = totals.services[svcName]?.rows ?? 0;
          const kept = referenced(svcName);
          keptReferenced += keptPerService.get(svcName) ?? 0;
          if (pos.service && svcName < pos.service) continue; // finished before the crash
          if (pos.service !== svcName)
            Object.assign(pos, {
              service: svcName,
              phase: 'keys',
              index: 0,
              skip: [],
              variantsAfter: '',
              variantsRows: 0,
            });
          if (pos.phase === 'done' || !svc.purge || rowCount === 0) {
            pos.phase = 'done';
            checkpoint();
            continue;
          }
          const q = quarantine ? { q: quarantine, runId: args.runId } : undefined;
          const purger = svc.kind === 'disk' ? diskPurger(svc, q) : s3Purger(svc, svcName, t.s3(svc), q);
          const add = (c: Parameters<typeof addCounts>[3]) => addCounts(pos, svcName, purger.quarantined, c);
          const doomed: DoomedKeys = async function* () {
            let i = 0;
            for await (const chunk of manifest.chunks(svcName)) {
              const out: { key: string; index: number }[] = [];
              for (const b of chunk) {
                const index = i++;
                if (!kept.has(b.key)) out.push({ key: b.key, index });
              }
              yield out;
            }
          };
          const batches = keyBatches(manifest.chunks(svcName), (k) => !kept.has(k), pos, settings.pageSize);
          try {
            if (pos.phase === 'keys') {
              await runBounded(batches, settings.concurrency, async (batch: KeyBatch) => {
                throwIfCancelled();
                const done = await purger.deleteKeys(batch.keys, () => pos.deleted);
                add(done);
                if (done.error) {
                  // What of this batch is done stays done: a resume sends only the failed keys' stretch again.
                  const failed = new Set(batch.indexes.filter((_, j) => done.failed!.has(batch.keys[j].key)));
                  for (const [a, b] of doneRanges(batch, failed)) markDone(pos, a, b);
                  checkpoint();
                  throw done.error;
                }
                markDone(pos, batch.from, batch.to);
                checkpoint();
                await firstBatchDone();
              });
              Object.assign(pos, { phase: 'variants', index: rowCount, skip: [], variantsAfter: '', variantsRows: 0 });
              checkpoint();
            }
            if (pos.phase === 'variants') {
              const addVariants = (c: Parameters<typeof add>[0]) => {
                add(c);
                pos.variantsDeleted += c.deleted;
              };
              await purger.deleteVariants(doomed, pos, settings, addVariants, checkpoint);
              pos.phase = 'done';
              checkpoint();
            }
          } catch (err) {
            // The record of what did finish goes out before the failure does (best effort: the failure is the news).
            await record.flush().catch(() => undefined);
            throw err;
          } finally {
            await batches.return(undefined); // a failed batch leaves the manifest's reading open: close it
            purger.close();
          }
        }
        await record.flush();
        crashPoint('purge.done');
        return {
          deleted: pos.deleted,
          variants: pos.variantsDeleted,
          bytes: pos.bytes,
          keptReferenced,
          alreadyGone: pos.alreadyGone,
          missing: pos.missing,
          missingSample: pos.missingSample,
        };
      });
    },
  };
}
