/**
 * What both dump uploads share (pg-dump-s3.ts for `-Fc`, pg-dump-dir-s3.ts for a folder's tar): a body
 * that hashes and counts what passes through it, and lib-storage's multipart Upload of that body with one
 * part filling and one on the wire (queueSize 1), so memory stays flat whatever the dump's size.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Store } from './backup-store';

/** 8 MiB parts: S3's 10,000 parts cap a dump at 80 GB (5 MiB would cap it at 50 GB). */
const PART_BYTES = 8 * 1024 * 1024;

/** A pass-through body; `stored()` is the byte count and SHA-256 of everything it let through. */
export function hashingBody(onBytes: (n: number) => void): {
  body: Transform;
  stored(): { bytes: number; sha256: string };
} {
  const hash = createHash('sha256');
  let bytes = 0;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(bytes);
      done(null, chunk);
    },
  });
  return { body, stored: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/** The object `name` from `body`; an errored body aborts the multipart upload (no object appears). */
export function dumpUpload(store: S3Store, name: string, body: Transform, contentType: string): Upload {
  return new Upload({
    client: store.s3,
    params: {
      Bucket: store.dest.bucket,
      Key: store.key(name),
      Body: body,
      ContentType: contentType,
      ...store.encryption,
    },
    partSize: PART_BYTES,
    queueSize: 1,
    leavePartsOnError: false,
  });
}
