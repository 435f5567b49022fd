/**
 * Step 4 — clean orphaned files. The runbook's `ActiveStorage::Blob.unattached.each(&:purge_later)`
 * finds nothing after a TRUNCATE (the blob rows are gone), so we work from the manifest the reset
 * step wrote: delete the files of recorded blobs that no blob references after the seeds, and
 * nothing else — not orphans that predate the reset, not other applications' prefixes.
 * By key (lib/purge-keys.ts): DeleteObjects of pageSize keys, `concurrency` calls in flight; only the
 * untracked variants, which no row names, are listed (one listing of `<prefix>variants/`). Disk
 * services: the same, with unlink (lib/disk-files.ts). The heartbeat carries the position, so a new
 * worker resumes where a killed one stopped. With storage.quarantine, each S3 object is first copied
 * there (server-side), so a restore can bring it back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DiskStorageServiceConfig, QuarantineConfig, S3StorageServiceConfig } from '../config/types';
import type { HeartbeatProgress } from '../workflows/definitions';
import { ownerKey, readBlobs } from './lib/blobs';
import { diskPathFor, diskVariantsDir, removeVariantFolder, unlinkFile } from './lib/disk-files';
import { crashPoint } from './lib/faults';
import { throwIfCancelled, withKeepalive } from './lib/keepalive';
import { withClient } from './lib/postgres';
import { doneRanges, keyBatches, markDone, parsePosition, runBounded, ServiceKeys, sortManifestBlobs, type KeyBatch, type PurgePosition } from './lib/purge-keys';
import { copyObject, deleteBatch, listObjects, type S3Object } from './lib/s3';
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

const KEY_RETRIES = 3;
const pause = (attempt: number) => new Promise((res) => setTimeout(res, 500 * attempt));

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
        throw ApplicationFailure.nonRetryable(
          `The purge manifest ${manifestLocation(store, name)} is missing; without it no object can be proven orphaned. Nothing was deleted.${hint}`,
          'ManifestMissing',
        );
      }
      const services = t.config.storage?.services ?? {};
      const settings = t.config.storage!; // pageSize, concurrency: filled in at load
      const quarantine = t.config.storage?.quarantine;
      // After the seeds the blob table holds only what they made: a small set.
      const stillReferenced = new Map<string, Set<string>>();
      for (const b of await withClient(t.primary, readBlobs)) {
        if (!stillReferenced.has(b.service)) stillReferenced.set(b.service, new Set());
        stillReferenced.get(b.service)!.add(b.key);
      }
      sortManifestBlobs(manifest.blobs);
      const resumeFrom = args.resumeFrom ?? (Context.current().info.heartbeatDetails as HeartbeatProgress | undefined)?.position;
      const pos = parsePosition(resumeFrom);
      let keptReferenced = 0;

      return withKeepalive(async (beat) => {
        // The plan's figure counts blobs only; untracked variants come on top, so the total grows with them.
        const report = () =>
          beat({ unit: 'objects', done: pos.deleted, total: args.expectedObjects === undefined ? undefined : Math.max(args.expectedObjects, pos.deleted), position: JSON.stringify(pos) });
        let crashed = false;
        const firstBatchDone = () => {
          if (!crashed) {
            crashed = true;
            crashPoint('purge.afterFirstPage');
          }
        };
        for (const svcName of Object.keys(services).sort()) {
          const svc = services[svcName];
          const keys = new ServiceKeys(manifest.blobs, svcName, stillReferenced.get(svcName) ?? new Set());
          keptReferenced += keys.referencedCount();
          if (pos.service && svcName < pos.service) continue; // finished before the crash
          if (pos.service !== svcName) Object.assign(pos, { service: svcName, phase: 'keys', index: 0, skip: [], variantsAfter: '' });
          if (pos.phase === 'done' || !svc.purge || keys.length === 0) {
            pos.phase = 'done';
            report();
            continue;
          }
          const purger = svc.kind === 'disk' ? diskPurger(svc) : s3Purger(svc, svcName, t.s3(svc), quarantine ? { q: quarantine, runId: args.runId } : undefined);
          try {
            if (pos.phase === 'keys') {
              await runBounded(keyBatches(keys, pos, settings.pageSize), settings.concurrency, async (batch: KeyBatch) => {
                throwIfCancelled();
                const done = await purger.deleteKeys(batch.keys, () => pos.deleted);
                pos.deleted += done.deleted;
                pos.bytes += done.bytes;
                if (done.error) {
                  // What of this batch is done stays done: a resume sends only the failed keys' stretch again.
                  const failed = new Set(batch.indexes.filter((_, j) => done.failed!.has(batch.keys[j].key)));
                  for (const [a, b] of doneRanges(batch, failed)) markDone(pos, a, b);
                  report();
                  throw done.error;
                }
                markDone(pos, batch.from, batch.to);
                report();
                firstBatchDone();
              });
              Object.assign(pos, { phase: 'variants', index: keys.length, skip: [], variantsAfter: '' });
              report();
            }
            if (pos.phase === 'variants') {
              await purger.deleteVariants(keys, pos, settings, report);
              pos.phase = 'done';
              report();
            }
          } finally {
            purger.close();
          }
        }
        crashPoint('purge.done');
        return { deleted: pos.deleted, bytes: pos.bytes, keptReferenced };
      });
    },
  };
}

interface Deleted {
  deleted: number;
  bytes: number;
  error?: Error;
  /** With error: the blob keys (without prefix) still not deleted. */
  failed?: Set<string>;
}

interface Purger {
  /** Deletes the batch's keys, retrying refused ones; `error` (the step's retry resumes) when some keep failing, with their blob keys. */
  deleteKeys(keys: KeyBatch['keys'], deletedSoFar: () => number): Promise<Deleted>;
  deleteVariants(keys: ServiceKeys, pos: PurgePosition, settings: { pageSize: number; concurrency: number }, report: () => void): Promise<void>;
  close(): void;
}

function s3Purger(svc: S3StorageServiceConfig, svcName: string, s3: S3Client, quarantine: { q: QuarantineConfig; runId: string } | undefined): Purger {
  const prefix = svc.prefix ?? '';
  /** One DeleteObjects call per attempt; S3 answers success for a key already gone. */
  const deleteObjects = async (objects: S3Object[], deletedSoFar: () => number) => {
    const sizes = new Map(objects.map((o) => [o.key, o.size]));
    let pending = objects.map((o) => o.key);
    let deleted = 0;
    let bytes = 0;
    for (let attempt = 1; pending.length && attempt <= KEY_RETRIES; attempt++) {
      throwIfCancelled();
      // Quarantine first: a copy exists before the original goes (a retry copies again, harmlessly).
      if (quarantine) {
        const q = quarantine.q;
        await eachLimited(pending, 16, (k) => copyObject(s3, { bucket: svc.bucket, key: k }, { bucket: q.bucket, key: quarantineKey(q, quarantine.runId, svcName, k) }));
      }
      const r = await deleteBatch(s3, svc, pending);
      for (const k of r.deleted) {
        deleted++;
        bytes += sizes.get(k) ?? 0;
      }
      pending = r.errors.map((e) => e.key);
      if (pending.length && attempt === KEY_RETRIES) {
        const codes = [...new Set(r.errors.map((e) => e.code))].join(', ');
        const error = new Error(
          `S3 refused to delete ${pending.length} object(s) in bucket ${svc.bucket} (${codes}), e.g. ${pending[0]}; ${deletedSoFar() + deleted} deleted so far. Check the bucket policy, then retry: it resumes here.`,
        );
        return { deleted, bytes, error, failed: new Set(pending.map((k) => k.slice(prefix.length))) };
      }
      if (pending.length) await pause(attempt);
    }
    return { deleted, bytes };
  };
  return {
    deleteKeys: (keys, deletedSoFar) =>
      deleteObjects(
        keys.map((b) => ({ key: `${prefix}${b.key}`, size: b.bytes })),
        deletedSoFar,
      ),
    async deleteVariants(keys, pos, settings, report) {
      // The one listing: untracked variants are named by no row. Deleted in full DeleteObjects calls;
      // the position moves past a listed key only once everything before it is deleted.
      let buffer: S3Object[] = [];
      let lastListed = pos.variantsAfter;
      // Mid-listing only full calls go out; the rest waits for more (a partial call only at the end).
      const flush = async (all: boolean) => {
        const n = all ? buffer.length : buffer.length - (buffer.length % settings.pageSize);
        const take = buffer.slice(0, n);
        buffer = buffer.slice(n);
        const chunks: S3Object[][] = [];
        for (let i = 0; i < take.length; i += settings.pageSize) chunks.push(take.slice(i, i + settings.pageSize));
        await runBounded(chunks[Symbol.iterator](), settings.concurrency, async (chunk) => {
          const done = await deleteObjects(chunk, () => pos.deleted);
          pos.deleted += done.deleted;
          pos.bytes += done.bytes;
          if (done.error) throw done.error;
        });
        // Every doomed object listed up to here is deleted, except those still buffered (listed after the last one taken).
        if (all) pos.variantsAfter = lastListed;
        else if (take.length) pos.variantsAfter = take[take.length - 1].key;
        report();
      };
      for await (const page of listObjects(s3, { bucket: svc.bucket, prefix: `${prefix}variants/` }, pos.variantsAfter || undefined, 1000)) {
        throwIfCancelled();
        for (const o of page) if (ownerKey(o.key, prefix, keys)) buffer.push(o);
        if (page.length) lastListed = page[page.length - 1].key;
        if (buffer.length >= settings.pageSize * settings.concurrency) await flush(false);
      }
      await flush(true);
    },
    close: () => s3.destroy(),
  };
}

function diskPurger(svc: DiskStorageServiceConfig): Purger {
  const root = svc.root;
  return {
    async deleteKeys(keys, deletedSoFar) {
      let pending = keys;
      let deleted = 0;
      let bytes = 0;
      for (let attempt = 1; pending.length && attempt <= KEY_RETRIES; attempt++) {
        throwIfCancelled();
        const failed: { key: (typeof keys)[number]; code: string; file: string }[] = [];
        for (const b of pending) {
          const file = diskPathFor(root, b.key);
          const r = await unlinkFile(file);
          if ('error' in r) failed.push({ key: b, code: r.error, file });
          else if (r.deleted) {
            deleted++;
            bytes += b.bytes;
          }
        }
        pending = failed.map((f) => f.key);
        if (failed.length && attempt === KEY_RETRIES) {
          const codes = [...new Set(failed.map((e) => e.code))].join(', ');
          const error = new Error(
            `Could not delete ${failed.length} file(s) of the Disk service at ${root} (${codes}), e.g. ${failed[0].file}; ${deletedSoFar() + deleted} deleted so far. Check the folder's permissions, then retry: it resumes here.`,
          );
          return { deleted, bytes, error, failed: new Set(failed.map((f) => f.key.key)) };
        }
        if (failed.length) await pause(attempt);
      }
      return { deleted, bytes };
    },
    async deleteVariants(keys, pos, _settings, report) {
      const dir = diskVariantsDir(root);
      let names: string[];
      try {
        names = (await fs.promises.readdir(dir)).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const n of names) {
        if (n <= pos.variantsAfter || !keys.has(n)) continue;
        throwIfCancelled();
        const r = await removeVariantFolder(root, path.join(dir, n));
        pos.deleted += r.files;
        pos.bytes += r.bytes;
        pos.variantsAfter = n;
        report();
      }
    },
    close: () => undefined,
  };
}
