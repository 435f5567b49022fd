/**
 * pg_dump streamed into an S3 upload (lib-storage's multipart Upload), and the uploaded object read back through
 * SHA-256 and
 * `pg_restore --list`: the S3 half of the backup step (the local half is pg-dump.ts).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import type { S3Store } from './backup-store';
import { baseEnv, libpqEnv } from './child-env';
import { cancellation, cancelledFailure, throwIfCancelled } from './keepalive';
import { readToc } from './pg-dump';
import { dumpUpload, hashingBody } from './s3-dump-upload';
import { redactText } from './secrets';
import { killGroup, spawnGuarded } from './shell';
import type { DatabaseHandle } from './target';

/**
 * Streams pg_dump into the bucket through lib-storage's Upload: one part filling and one on the wire
 * (queueSize 1), so the worker's memory does not grow with the dump. The body ends only once pg_dump
 * has exited 0; any other exit, a failure or a cancellation errors the body, which makes Upload abort
 * the multipart upload: no object appears unless the whole dump went through.
 */
export async function dumpToS3(
  pgDump: string,
  db: DatabaseHandle,
  store: S3Store,
  name: string,
  onBytes: (n: number) => void,
  extra: string[] = [],
): Promise<{ bytes: number; sha256: string }> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const child = spawnGuarded(pgDump, ['-Fc', '--no-password', ...extra], { env: libpqEnv(db.url) });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4096)));
  const { body, stored } = hashingBody(onBytes);
  const fail = (err: Error) => {
    killGroup(child);
    body.destroy(err);
  };
  const onCancel = () => fail(cancelledFailure(cancel!));
  cancel?.addEventListener('abort', onCancel, { once: true });
  // Not piped with `end`: the body must not end (and the upload complete) before pg_dump's exit code is known.
  child.stdout!.pipe(body, { end: false });
  const dumped = Promise.all([
    new Promise<number | null>((resolve, reject) => {
      child.on('error', (err) =>
        reject(ApplicationFailure.nonRetryable(`cannot run ${pgDump}: ${err.message}`, 'BackupFailed')),
      );
      child.on('close', resolve);
    }),
    finished(child.stdout!).catch(() => undefined),
  ]).then(([code]) => {
    if (cancel?.aborted) throw cancelledFailure(cancel);
    if (code !== 0)
      throw new Error(
        `pg_dump of database "${db.name}" exited with code ${code}: ${redactText(stderr.trim(), [db.url])}`,
      );
    body.end();
  });
  dumped.catch((err: Error) => fail(err));
  const uploaded = dumpUpload(store, name, body, 'application/octet-stream').done();
  try {
    await Promise.all([dumped, uploaded]);
  } catch (err) {
    // Whichever failed first is the cause; settle both before returning, so pg_dump is dead and the
    // multipart upload aborted by the time the activity reports the failure.
    fail(err as Error);
    await Promise.allSettled([dumped, uploaded]);
    if (cancel?.aborted) throw cancelledFailure(cancel);
    throw err;
  } finally {
    cancel?.removeEventListener('abort', onCancel);
  }
  return stored();
}

/**
 * Reads the uploaded object back from the bucket, once: through SHA-256 (it must equal what pg_dump
 * wrote) and into `pg_restore --list` on its standard input (the archive's table of contents must be
 * readable). A mismatch removes the object: a backup that cannot be trusted is no backup.
 */
export async function checkS3Archive(
  pgRestore: string,
  store: S3Store,
  name: string,
  db: DatabaseHandle,
  expected: { bytes: number; sha256: string },
): Promise<number> {
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
    child.on('error', (err) =>
      reject(ApplicationFailure.nonRetryable(`cannot run ${pgRestore}: ${err.message}`, 'BackupFailed')),
    );
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
    throw new Error(
      `pg_restore --list rejected the uploaded dump of database "${db.name}" (${where}, exit ${code}): ${toc.stderr().trim() || 'no entries'}`,
    );
  }
  return toc.entries();
}
