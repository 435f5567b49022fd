/**
 * A parallel dump's folder (pg-dump-dir.ts) into the S3 destination as ONE object: its canonical tar
 * (dump-tar.ts), streamed into lib-storage's multipart Upload as it is read from the folder (one part
 * filling, one on the wire: memory stays flat whatever the dump's size), its SHA-256 taken on the way;
 * then read back once from the bucket, through SHA-256, with only toc.dat unpacked for `pg_restore --list`.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Store } from './backup-store';
import { packDir, TarExtractor } from './dump-tar';
import { cancellation, cancelledFailure, throwIfCancelled } from './keepalive';
import { listEntries } from './pg-dump-dir';
import { dumpUpload, hashingBody } from './s3-dump-upload';
import type { DatabaseHandle } from './target';

/** Uploads the folder's tar as `name`; a failure or cancellation aborts the multipart upload (no object). */
export async function uploadDir(
  store: S3Store,
  name: string,
  dir: string,
  onBytes: (n: number) => void,
): Promise<{ bytes: number; sha256: string }> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const { body, stored } = hashingBody(onBytes);
  const packed = pipeline(packDir(dir), body);
  const upload = dumpUpload(store, name, body, 'application/x-tar');
  const onCancel = () => body.destroy(cancelledFailure(cancel!));
  cancel?.addEventListener('abort', onCancel, { once: true });
  try {
    await Promise.all([packed, upload.done()]);
  } catch (err) {
    body.destroy(err as Error);
    await upload.abort().catch(() => undefined);
    if (cancel?.aborted) throw cancelledFailure(cancel);
    throw err;
  } finally {
    cancel?.removeEventListener('abort', onCancel);
  }
  return stored();
}

/**
 * Reads the object back: its SHA-256 and size must be what was uploaded, the tar must be whole, and
 * its toc.dat (unpacked into a scratch folder under `scratchParent`) must pass `pg_restore --list`.
 * A mismatch removes the object: a backup that cannot be trusted is no backup.
 */
export async function checkS3Dir(
  pgRestore: string,
  store: S3Store,
  name: string,
  db: DatabaseHandle,
  expected: { bytes: number; sha256: string },
  scratchParent: string,
): Promise<number> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const where = `s3://${store.dest.bucket}/${store.key(name)}`;
  const scratch = fs.mkdtempSync(path.join(scratchParent, 'rr-toc-'));
  try {
    const got = await store.s3.send(new GetObjectCommand({ Bucket: store.dest.bucket, Key: store.key(name) }), {
      abortSignal: cancel,
    });
    const tar = new TarExtractor(scratch, (n) => n === 'toc.dat');
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for await (const chunk of got.Body as Readable as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
        await tar.write(chunk);
      }
      await tar.end();
    } catch (err) {
      await tar.abort();
      if (cancel?.aborted) throw cancelledFailure(cancel);
      await store.remove([name]).catch(() => undefined);
      throw new Error(
        `the uploaded dump of database "${db.name}" (${where}) does not read back as a whole tar: ${(err as Error).message}. The object was removed; retry takes a new backup.`,
        { cause: err },
      );
    }
    const sha256 = hash.digest('hex');
    if (bytes !== expected.bytes || sha256 !== expected.sha256) {
      await store.remove([name]).catch(() => undefined);
      throw new Error(
        `the uploaded dump of database "${db.name}" (${where}) reads back as ${bytes} bytes, SHA-256 ${sha256}; the folder packed as ${expected.bytes} bytes, SHA-256 ${expected.sha256}. The object was removed; retry takes a new backup.`,
      );
    }
    try {
      return await listEntries(pgRestore, scratch, `the uploaded dump of database "${db.name}" (${where})`);
    } catch (err) {
      if (!cancel?.aborted) await store.remove([name]).catch(() => undefined);
      throw err;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
