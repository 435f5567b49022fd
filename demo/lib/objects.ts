/**
 * The demo's S3 side: the bucket, the bytes of each object, uploads with bounded concurrency, listing.
 * Credentials come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION), the
 * SDK's default chain; they are never logged.
 */
import { createHash } from 'crypto';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

export interface StorageOptions {
  bucket: string;
  /** e.g. http://127.0.0.1:39000 (moto, MinIO). Path-style addressing is used whenever it is set. */
  endpoint?: string;
  region?: string;
  /** Prepended to every key of this app's service (StorageServiceConfig.prefix). Default none. */
  prefix?: string;
  /** Where the other application's objects go; outside `prefix`. Default "other-app/". */
  otherAppPrefix?: string;
  /** active_storage_blobs.service_name (the storage.yml service). Default "amazon". */
  serviceName?: string;
  /** Uploads in flight at once. Default 32. */
  concurrency?: number;
}

export function s3Client(opts: StorageOptions): S3Client {
  return new S3Client({
    region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
    endpoint: opts.endpoint,
    forcePathStyle: Boolean(opts.endpoint),
    // Plain PUTs with our own Content-MD5, no aws-chunked bodies: what S3-compatible servers accept.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

/** The bytes of a demo object; active_storage_blobs.byte_size/checksum match them (pg_temp.body). */
export function objectBody(key: string): Buffer {
  return Buffer.from(`phonefin demo object ${key}\n`, 'utf8');
}

/** ActiveStorage's checksum: base64 of the MD5 digest (also what S3's Content-MD5 wants). */
export function md5Base64(body: Buffer): string {
  return createHash('md5').update(body).digest('base64');
}

export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    }
  }
}

/** Runs fn over items with at most `concurrency` in flight; the first error stops new starts and is thrown. */
export async function runPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  if (failed !== undefined) throw failed;
}

/**
 * Uploads `keys`: each object's body is objectBody(bodyKey), where bodyKey is the key without the
 * service prefix (the blob key). `storedKey` maps a key to where it lands in the bucket.
 */
export async function putObjects(
  s3: S3Client,
  bucket: string,
  keys: { storedKey: string; bodyKey: string }[],
  concurrency: number,
): Promise<void> {
  await runPool(keys, concurrency, async ({ storedKey, bodyKey }) => {
    const body = objectBody(bodyKey);
    for (let attempt = 1; ; attempt++) {
      try {
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: storedKey, Body: body, ContentMD5: md5Base64(body) }),
        );
        return;
      } catch (err) {
        if (attempt >= 3)
          throw new Error(`uploading s3://${bucket}/${storedKey} failed: ${(err as Error).message}`, { cause: err });
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  });
}

/** Every key under `prefix` (paginated: 1,000 per page). */
export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}
