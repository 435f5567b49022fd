/**
 * pg_dump streamed into an S3 multipart upload, and the uploaded object read back through SHA-256 and
 * `pg_restore --list`: the S3 half of the backup step (the local half is pg-dump.ts).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import type { S3Store } from './backup-store';
import { baseEnv, libpqEnv } from './child-env';
import { cancellation, cancelledFailure, throwIfCancelled } from './keepalive';
import { readToc } from './pg-dump';
import { killGroup, redact, spawnGuarded } from './shell';
import type { DatabaseHandle } from './target';

const PART_BYTES = 8 * 1024 * 1024;

/**
 * Streams pg_dump into a multipart upload: at most one part being filled and one being sent, so the
 * worker's memory does not grow with the dump. A failure or cancellation kills pg_dump and aborts the
 * upload (no object appears); the object is complete only once CompleteMultipartUpload succeeds.
 */
export async function dumpToS3(pgDump: string, db: DatabaseHandle, store: S3Store, name: string, onBytes: (n: number) => void, extra: string[] = []): Promise<{ bytes: number; sha256: string }> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const { bucket } = store.dest;
  const Key = store.key(name);
  const created = await store.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ContentType: 'application/octet-stream', ...store.encryption }));
  const UploadId = created.UploadId!;
  const child = spawnGuarded(pgDump, ['-Fc', '--no-password', ...extra], { env: libpqEnv(db.url) });
  const onCancel = () => killGroup(child);
  cancel?.addEventListener('abort', onCancel, { once: true });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4096)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(ApplicationFailure.nonRetryable(`cannot run ${pgDump}: ${err.message}`, 'BackupFailed')));
    child.on('close', resolve);
  });
  exited.catch(() => undefined);
  const hash = createHash('sha256');
  const parts: { PartNumber: number; ETag: string }[] = [];
  let bytes = 0;
  // Two part buffers, allocated once and taking turns (one filling, one on the wire): the memory a
  // backup takes is the same for 10 MB and for 1 TB.
  const buffers = [Buffer.allocUnsafe(PART_BYTES), Buffer.allocUnsafe(PART_BYTES)];
  let current = 0;
  let filled = 0;
  let inflight: Promise<void> = Promise.resolve();
  const send = async (PartNumber: number, Body: Buffer) => {
    await inflight; // one part on the wire at a time; after this the other buffer is free again
    const p = store.s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber, Body, ContentLength: Body.length })).then((r) => {
      parts.push({ PartNumber, ETag: r.ETag! });
    });
    p.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    inflight = p;
  };
  const sendFilled = async () => {
    const body = buffers[current].subarray(0, filled);
    current = 1 - current;
    filled = 0;
    await send(partNumber++, body);
  };
  let partNumber = 1;
  try {
    for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(bytes);
      for (let at = 0; at < chunk.length;) {
        const n = chunk.copy(buffers[current], filled, at);
        filled += n;
        at += n;
        if (filled === PART_BYTES) await sendFilled();
      }
    }
    const code = await exited;
    if (cancel?.aborted) throw cancelledFailure(cancel);
    if (code !== 0) throw new Error(`pg_dump of database "${db.name}" exited with code ${code}: ${redact(stderr.trim(), [db.url])}`);
    if (filled > 0 || partNumber === 1) await sendFilled();
    await inflight;
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await store.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (err) {
    killGroup(child);
    await store.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId })).catch(() => undefined);
    if (cancel?.aborted) throw cancelledFailure(cancel);
    throw err;
  } finally {
    cancel?.removeEventListener('abort', onCancel);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Reads the uploaded object back from the bucket, once: through SHA-256 (it must equal what pg_dump
 * wrote) and into `pg_restore --list` on its standard input (the archive's table of contents must be
 * readable). A mismatch removes the object: a backup that cannot be trusted is no backup.
 */
export async function checkS3Archive(pgRestore: string, store: S3Store, name: string, db: DatabaseHandle, expected: { bytes: number; sha256: string }): Promise<number> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const got = await store.s3.send(new GetObjectCommand({ Bucket: store.dest.bucket, Key: store.key(name) }));
  const body = got.Body as Readable;
  // pg_restore needs no secret and no environment but PATH/locale: it reads the archive only.
  // Guarded like every child: it dies with the worker; the basics only for its environment.
  const child = spawnGuarded(pgRestore, ['--list'], { env: baseEnv(process.env), stdin: true });
  const onCancel = () => {
    killGroup(child);
    body.destroy();
  };
  cancel?.addEventListener('abort', onCancel, { once: true });
  const toc = readToc(child);
  // pg_restore --list stops reading after the table of contents: the rest still goes through the hash.
  let stdinOpen = true;
  child.stdin!.on('error', () => (stdinOpen = false));
  child.stdin!.on('close', () => (stdinOpen = false));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(ApplicationFailure.nonRetryable(`cannot run ${pgRestore}: ${err.message}`, 'BackupFailed')));
    child.on('close', resolve);
  });
  exited.catch(() => undefined);
  const hash = createHash('sha256');
  let bytes = 0;
  let code: number | null;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      if (stdinOpen && !child.stdin!.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            child.stdin!.off('drain', done).off('close', done);
            resolve();
          };
          child.stdin!.on('drain', done).on('close', done);
        });
      }
    }
    if (stdinOpen) child.stdin!.end();
    code = await exited;
  } catch (err) {
    killGroup(child);
    if (cancel?.aborted) throw cancelledFailure(cancel);
    throw err;
  } finally {
    cancel?.removeEventListener('abort', onCancel);
  }
  if (cancel?.aborted) throw cancelledFailure(cancel);
  const sha256 = hash.digest('hex');
  const where = `s3://${store.dest.bucket}/${store.key(name)}`;
  if (bytes !== expected.bytes || sha256 !== expected.sha256) {
    await store.remove([name]).catch(() => undefined);
    throw new Error(
      `the uploaded dump of database "${db.name}" (${where}) reads back as ${bytes} bytes, SHA-256 ${sha256}; pg_dump wrote ${expected.bytes} bytes, SHA-256 ${expected.sha256}. The object was removed; retry takes a new backup.`,
    );
  }
  if (code !== 0 || toc.entries() === 0) {
    await store.remove([name]).catch(() => undefined);
    throw new Error(`pg_restore --list rejected the uploaded dump of database "${db.name}" (${where}, exit ${code}): ${toc.stderr().trim() || 'no entries'}`);
  }
  return toc.entries();
}
