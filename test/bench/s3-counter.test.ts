/**
 * The bench's S3 request counter (bench/lib/s3-counter.ts) in front of the stack's real S3 server:
 * requests per 1,000 objects deleted is one of issue 9's goals, so each kind must be counted as what
 * it is, and the proxied calls must still work. No timings.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { s3Client } from '../../demo/lib/objects';
import { listKeys } from '../../bench/lib/peers';
import { startS3Counter, type S3Counter } from '../../bench/lib/s3-counter';
import { stackEnv } from '../support/stack-env';

const bucket = `bench-counter-${process.pid}`;
let counter: S3Counter;

beforeAll(async () => {
  counter = await startS3Counter(stackEnv().s3Endpoint);
});
afterAll(async () => {
  await counter.close();
});

test('counts each kind of S3 request passing through, and the calls still do what they say', async () => {
  const s3 = s3Client({ bucket, endpoint: counter.endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = ['a1', 'a2', 'variants/a1/x', 'variants/a2/y', 'zz'];
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }));
  counter.reset();

  expect(await listKeys(s3, bucket, 'variants/')).toEqual(['variants/a1/x', 'variants/a2/y']);
  await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'zz' }));
  await s3.send(
    new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(0, 4).map((Key) => ({ Key })) } }),
  );
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'zz' }));
  expect(await listKeys(s3, bucket, '')).toEqual([]);

  expect(counter.counts).toEqual({
    total: 5,
    deleteObjects: 1,
    deleteObject: 1,
    list: 2,
    listVariants: 1,
    head: 1,
    get: 0,
    put: 0,
    other: 0,
  });
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
});
