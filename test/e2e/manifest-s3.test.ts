/**
 * The purge manifest in an S3 backup destination on the real stack (moto): one larger than a part
 * (5 MiB) goes up as a multipart upload and reads back row by row with its count and checksum; one
 * cut short in the bucket is refused as ManifestDamaged. No workflow needed: the store is the subject.
 */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Store } from '../../src/activities/lib/backup-store';
import type { BlobRow } from '../../src/activities/lib/blobs';
import { manifestName, readManifest, writeManifestOnce } from '../../src/activities/manifest';
import { rowsOf } from '../support/manifest-rows';

const prefix = `rr-manifest-${randomUUID().slice(0, 8)}/`;
const dest = {
  kind: 's3' as const,
  bucket: process.env.RR_S3_BUCKET!,
  prefix,
  endpoint: process.env.RR_S3_ENDPOINT!,
  forcePathStyle: true,
  region: 'us-east-1',
};
const s3 = new S3Client({ endpoint: dest.endpoint, forcePathStyle: true, region: 'us-east-1' });
afterAll(() => s3.destroy());

async function* rows(n: number): AsyncGenerator<BlobRow> {
  for (let i = 0; i < n; i++)
    yield { service: i < n / 2 ? 'amazon' : 'backup', key: `k${String(i).padStart(27, '0')}`, bytes: i };
}

test('a manifest of 150,000 rows (~7 MB): a multipart upload, read back whole and checked', async () => {
  const store = new S3Store(dest);
  const name = manifestName('app', 'run-big');
  const totals = await writeManifestOnce(store, name, {
    target: 'app',
    runId: 'run-big',
    createdAt: '',
    blobs: rows(150_000),
  });
  expect(totals.rows).toBe(150_000);
  const head = await s3.send(new HeadObjectCommand({ Bucket: dest.bucket, Key: `${prefix}${name}` }));
  // A multipart upload's ETag ends in -<parts>: this one did not fit in one PUT.
  expect(head.ETag).toMatch(/-2"?$/);
  expect(Number(head.ContentLength)).toBeGreaterThan(5 * 1024 * 1024);
  const m = (await readManifest(store, name))!;
  expect(await m.check()).toEqual(totals);
  let n = 0;
  let inOrder = true;
  for await (const r of rowsOf(m, 'backup')) inOrder &&= r.key === `k${String(75_000 + n++).padStart(27, '0')}`;
  expect({ n, inOrder }).toEqual({ n: 75_000, inOrder: true });
  store.s3.destroy();
});

test('a manifest cut short in the bucket is refused, naming the object', async () => {
  const store = new S3Store(dest);
  const name = manifestName('app', 'run-cut');
  await writeManifestOnce(store, name, { target: 'app', runId: 'run-cut', createdAt: '', blobs: rows(1000) });
  const key = `${prefix}${name}`;
  const whole = await (
    await s3.send(new GetObjectCommand({ Bucket: dest.bucket, Key: key }))
  ).Body!.transformToString();
  await s3.send(
    new PutObjectCommand({ Bucket: dest.bucket, Key: key, Body: whole.slice(0, whole.lastIndexOf('{"end"')) }),
  );
  const m = (await readManifest(store, name))!;
  await expect(m.check()).rejects.toThrow(
    new RegExp(`s3://${dest.bucket}/${key} is damaged: it stops after 1000 rows without its end line`),
  );
  store.s3.destroy();
});
