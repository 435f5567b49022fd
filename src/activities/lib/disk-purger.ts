/**
 * The purge of one Disk service: unlink each file of the manifest's keys; with storage.quarantine,
 * move it instead (a rename inside the root, same volume) to the run's quarantine folder, where a
 * restore finds it. Idempotent like S3: a file already in the quarantine counts as alreadyGone, one
 * in neither place as missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DiskStorageServiceConfig, QuarantineConfig } from '../../config/types';
import { diskRoot, diskVariantsDir, moveFile, moveTree, removeVariantFolder, unlinkFile } from './disk-files';
import { throwIfCancelled } from './keepalive';
import { runBounded } from './purge-keys';
import { KEY_RETRIES, noCounts, pause, type BatchResult, type Purger } from './purger';
import { diskQuarantineDir } from './quarantine';

/** Files of one batch removed at once (libuv's pool runs four at a time; the rest wait their turn there). */
const FILES_IN_FLIGHT = 8;

/** Variant folders removed between two checkpoints of the purge's position. */
const VARIANT_CHUNK = 200;

export function diskPurger(
  svc: DiskStorageServiceConfig,
  quarantine: { q: QuarantineConfig; runId: string } | undefined,
): Purger {
  const root = svc.root;
  // Every file's path is checked against the root, whose real path is looked up once per purge.
  const under = diskRoot(root);
  const qdir = quarantine ? diskQuarantineDir(root, quarantine.q, quarantine.runId) : undefined;
  /** Where a file of the root goes in the quarantine: the same path under the run's folder. */
  const quarantined = (file: string) =>
    under.inside(path.relative(under.base, path.join(qdir!, path.relative(under.base, file))));
  /** One file: moved to the quarantine, or unlinked. */
  const remove = async (
    file: string,
  ): Promise<{ done: 'now' | 'before' | 'missing'; bytes?: number } | { error: string }> => {
    if (!qdir) {
      const r = await unlinkFile(file);
      // Without a quarantine a file already gone cannot tell an earlier attempt from a file missing all along.
      return 'error' in r ? r : { done: r.deleted ? 'now' : 'before' };
    }
    const r = await moveFile(file, quarantined(file));
    return 'error' in r ? r : { done: r.moved, bytes: r.bytes };
  };
  return {
    quarantined: Boolean(qdir),
    async deleteKeys(keys, doneSoFar): Promise<BatchResult> {
      let pending = keys;
      const c = noCounts();
      for (let attempt = 1; pending.length && attempt <= KEY_RETRIES; attempt++) {
        throwIfCancelled();
        const failed: { key: (typeof keys)[number]; code: string; file: string }[] = [];
        // Several files at once: each unlink waits for a trip through libuv's thread pool, and one at a time
        // a batch of 1,000 took ~0.3 s, most of it waiting (two batches are all a small purge has). The
        // outcomes are tallied afterwards in the batch's order, so counts and samples do not depend on timing.
        const outcomes = new Array<Awaited<ReturnType<typeof remove>>>(pending.length);
        const files = pending.map((b) => under.pathFor(b.key));
        await runBounded(pending.keys(), FILES_IN_FLIGHT, async (j) => {
          outcomes[j] = await remove(files[j]);
        });
        for (const [j, b] of pending.entries()) {
          const file = files[j];
          const r = outcomes[j];
          if ('error' in r) failed.push({ key: b, code: r.error, file });
          else if (r.done === 'now') {
            c.deleted++;
            c.bytes += b.bytes;
          } else if (r.done === 'before') c.alreadyGone++;
          else {
            c.missing++;
            c.missingKeys.push(`${root}: ${b.key}`);
          }
        }
        pending = failed.map((f) => f.key);
        if (failed.length && attempt === KEY_RETRIES) {
          const codes = [...new Set(failed.map((e) => e.code))].join(', ');
          const what = qdir
            ? `move ${failed.length} file(s) of the Disk service at ${root} to its quarantine folder ${qdir}`
            : `delete ${failed.length} file(s) of the Disk service at ${root}`;
          const error = new Error(
            `Could not ${what} (${codes}), e.g. ${failed[0].file} (key ${failed[0].key.key}); ${doneSoFar() + c.deleted} deleted so far. Check the folder's permissions, then retry: it resumes here.`,
          );
          return { ...c, error, failed: new Set(failed.map((f) => f.key.key)) };
        }
        if (failed.length) await pause(attempt);
      }
      return c;
    },
    async deleteVariants(doomed, pos, settings, add, checkpoint) {
      // Driven by the manifest, not by a listing of the folder: a readdir returns every name at once (as
      // many as there are blobs with variants), and the folder's order is no order the manifest shares.
      // One lstat per doomed key instead, in order, so the position is a row index. The folders found are
      // removed `concurrency` at a time, a chunk of rows after another, and the position moves past a
      // chunk only once all of it is done: one checkpoint per chunk, not per folder (at 570,000 blobs a
      // record per folder held the purge to ~150 folders a second).
      const dir = diskVariantsDir(root);
      if (!fs.existsSync(dir)) return;
      const rows = doomed();
      let chunk: { key: string; folder: string }[] = [];
      let chunkStart = pos.variantsRows ?? 0;
      let end = chunkStart;
      let seen = 0;
      const flush = async (next: number) => {
        const folders = chunk;
        chunk = [];
        const lanes = folders[Symbol.iterator]();
        try {
          await runBounded(lanes, settings.concurrency, async ({ key, folder }) => {
            // Counted file by file: a folder that fails part-way has its removed files counted too.
            const counted = (bytes: number) => add({ ...noCounts(), deleted: 1, bytes });
            try {
              if (qdir) await moveTree(root, folder, path.resolve(root), qdir, counted);
              else await removeVariantFolder(root, folder, counted);
            } catch (err) {
              // eslint-disable-next-line preserve-caught-error -- the message names the place and quotes the cause
              throw new Error(
                `Could not ${qdir ? `move to ${qdir}` : 'delete'} the variants of key ${key} in the Disk service at ${root}: ${(err as Error).message}. Retry: it resumes here.`,
              );
            }
          });
        } catch (err) {
          // The chunk again on retry: a folder already gone is skipped, so what went is recorded now or never counted.
          pos.variantsRows = chunkStart;
          checkpoint();
          throw err;
        }
        pos.variantsRows = chunkStart = next;
        checkpoint();
      };
      try {
        for await (const doomedChunk of rows)
          for (const { key, index } of doomedChunk) {
            // A position recorded before variantsRows existed named the last folder done (names sorted).
            if (pos.variantsRows !== undefined ? index < pos.variantsRows : key <= pos.variantsAfter) continue;
            if (++seen % 1000 === 0) {
              // lstat below is synchronous (fast, and 1 M of them must be): let heartbeats and an abort through.
              await new Promise((res) => setImmediate(res));
              throwIfCancelled();
            }
            end = index + 1;
            const folder = path.join(dir, key);
            if (!(key.includes('/') || key === '.' || key === '..' || !fs.existsSync(folder)))
              chunk.push({ key, folder });
            if (chunk.length >= VARIANT_CHUNK || seen % 5000 === 0) await flush(end);
          }
        await flush(end);
      } finally {
        await rows.return(undefined); // closes the manifest's reading when this stops early
      }
    },
    close: () => undefined,
  };
}
