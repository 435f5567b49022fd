/**
 * The purge of one S3 service: DeleteObjects of the manifest's keys; with storage.quarantine each
 * object is first copied to the quarantine bucket (server-side). A copy whose source is already gone
 * is not an error: present in the quarantine it was done by an earlier attempt (alreadyGone), absent
 * there too it was missing before the reset (missing); neither is deleted again.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { QuarantineConfig, S3StorageServiceConfig } from '../../config/types';
import { throwIfCancelled } from './keepalive';
import { runBounded, type BatchCounts } from './purge-keys';
import { KEY_RETRIES, noCounts, pause, plus, type BatchResult, type Purger } from './purger';
import { eachLimited, quarantineKey, quarantineObject } from './quarantine';
import { deleteBatch, listObjects, type S3Object } from './s3';
import { folderMatcher, inFolderOrder, variantFolder } from './variant-owners';

export function s3Purger(
  svc: S3StorageServiceConfig,
  svcName: string,
  s3: S3Client,
  quarantine: { q: QuarantineConfig; runId: string } | undefined,
): Purger {
  const prefix = svc.prefix ?? '';
  /** Copies to the quarantine what is still there; returns the keys left to delete. */
  const quarantineAll = async (keys: string[], c: BatchCounts): Promise<string[]> => {
    if (!quarantine) return keys;
    const { q, runId } = quarantine;
    const gone = new Set<string>();
    await eachLimited(keys, 16, async (k) => {
      const o = await quarantineObject(
        s3,
        { bucket: svc.bucket, key: k },
        { bucket: q.bucket!, key: quarantineKey(q, runId, svcName, k) },
      );
      if (o === 'copied') return;
      gone.add(k);
      if (o === 'alreadyQuarantined') c.alreadyGone++;
      else {
        c.missing++;
        c.missingKeys.push(`s3://${svc.bucket}/${k}`);
      }
    });
    return keys.filter((k) => !gone.has(k));
  };
  /** One DeleteObjects call per attempt; S3 answers success for a key already gone. */
  const deleteObjects = async (objects: S3Object[], doneSoFar: () => number): Promise<BatchResult> => {
    const sizes = new Map(objects.map((o) => [o.key, o.size]));
    let pending = objects.map((o) => o.key);
    let c = noCounts();
    for (let attempt = 1; pending.length && attempt <= KEY_RETRIES; attempt++) {
      throwIfCancelled();
      // Quarantine first: a copy exists before the original goes (a retry copies again, harmlessly).
      const found = noCounts();
      pending = await quarantineAll(pending, found);
      c = plus(c, found);
      const r = await deleteBatch(s3, svc, pending).catch((err: Error) => {
        throw new Error(
          `DeleteObjects of ${pending.length} key(s) in bucket ${svc.bucket} (e.g. ${pending[0]}) failed: ${err.message}. Retry: the purge resumes here.`,
        );
      });
      for (const k of r.deleted) {
        c.deleted++;
        c.bytes += sizes.get(k) ?? 0;
      }
      pending = r.errors.map((e) => e.key);
      if (pending.length && attempt === KEY_RETRIES) {
        const codes = [...new Set(r.errors.map((e) => e.code))].join(', ');
        const error = new Error(
          `S3 refused to delete ${pending.length} object(s) in bucket ${svc.bucket} (${codes}), e.g. ${pending[0]}; ${doneSoFar() + c.deleted} deleted so far. Check the bucket policy, then retry: it resumes here.`,
        );
        return { ...c, error, failed: new Set(pending.map((k) => k.slice(prefix.length))) };
      }
      if (pending.length) await pause(attempt);
    }
    return c;
  };
  type VariantArgs = Parameters<Purger['deleteVariants']>;
  /** The listing of `variants/`, each object of a doomed blob's folder (`owned`) deleted. */
  const listAndDelete = async (
    owned: (folder: string) => Promise<boolean>,
    pos: VariantArgs[1],
    settings: VariantArgs[2],
    add: VariantArgs[3],
    checkpoint: VariantArgs[4],
  ) => {
    let buffer: S3Object[] = [];
    let lastListed = pos.variantsAfter;
    // Mid-listing only full calls go out; the rest waits for more (a partial call only at the end).
    const flush = async (all: boolean) => {
      const n = all ? buffer.length : buffer.length - (buffer.length % settings.pageSize);
      const take = buffer.slice(0, n);
      buffer = buffer.slice(n);
      const chunks: S3Object[][] = [];
      for (let i = 0; i < take.length; i += settings.pageSize) chunks.push(take.slice(i, i + settings.pageSize));
      let done = noCounts();
      let failure: unknown;
      // A call that throws (S3 unreachable) ends the run of calls once those in flight are done; theirs count too.
      await runBounded(chunks[Symbol.iterator](), settings.concurrency, async (chunk) => {
        const r = await deleteObjects(chunk, () => pos.deleted + done.deleted);
        done = plus(done, r);
        if (r.error) failure ??= r.error;
      }).catch((err: unknown) => {
        failure ??= err;
      });
      // What went is counted even when some calls failed: a deleted object is not listed again.
      add(done);
      if (failure) {
        checkpoint();
        throw failure;
      }
      // Every doomed object listed up to here is deleted, except those still buffered (listed after the last one
      // taken).
      if (all) pos.variantsAfter = lastListed;
      else if (take.length) pos.variantsAfter = take[take.length - 1].key;
      checkpoint();
    };
    const pages = listObjects(
      s3,
      { bucket: svc.bucket, prefix: `${prefix}variants/` },
      pos.variantsAfter || undefined,
      1000,
    );
    for (;;) {
      const next = await pages.next().catch((err: Error) => {
        throw new Error(
          `Listing the untracked variants under s3://${svc.bucket}/${prefix}variants/ (after "${lastListed}") failed: ${err.message}. Retry: the purge resumes here.`,
        );
      });
      if (next.done) break;
      const page = next.value;
      throwIfCancelled();
      for (const o of page) {
        const folder = variantFolder(o.key, prefix);
        if (folder !== undefined && (await owned(folder))) buffer.push(o);
      }
      if (page.length) lastListed = page[page.length - 1].key;
      if (buffer.length >= settings.pageSize * settings.concurrency) await flush(false);
    }
    await flush(true);
  };
  return {
    quarantined: Boolean(quarantine),
    deleteKeys: (keys, doneSoFar) =>
      deleteObjects(
        keys.map((b) => ({ key: `${prefix}${b.key}`, size: b.bytes })),
        doneSoFar,
      ),
    async deleteVariants(doomed, pos, settings, add, checkpoint) {
      // The one listing: untracked variants are named by no row. Deleted in full DeleteObjects calls;
      // the position moves past a listed key only once everything before it is deleted. Whose variants
      // they are: a merge of the sorted listing with the sorted doomed keys (variant-owners.ts).
      const keys = inFolderOrder(keysOf(doomed()));
      try {
        await listAndDelete(folderMatcher(keys), pos, settings, add, checkpoint);
      } finally {
        await keys.return(undefined); // closes the manifest's reading when the listing stops early
      }
    },
    close: () => s3.destroy(),
  };
}

async function* keysOf(chunks: AsyncIterable<{ key: string }[]>): AsyncGenerator<string[]> {
  for await (const c of chunks) yield c.map((r) => r.key);
}
