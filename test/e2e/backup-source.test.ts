/**
 * backup-source.ts against the stack's S3 server (moto): an object is copied for pg_restore through
 * SHA-256 and the copy is removed when released, when its checksum is wrong, and when the activity is
 * cancelled mid-download; a missing object is unreadable (bucket and key named), not damaged.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { assertChecksum, verifiedLocalCopy, type LocalArchive } from '../../src/activities/lib/backup-source';
import { s3ClientFor } from '../../src/activities/lib/s3';
import type { BackupFile } from '../../src/contract';

const bucket = process.env.RR_S3_BUCKET!;
const endpoint = process.env.RR_S3_ENDPOINT!;
const key = `rr-source-${randomBytes(4).toString('hex')}/backup_pre_reset_x.dump`;
const body = randomBytes(6 * 1024 * 1024);
const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
let dir: string;

const file = (over: Partial<BackupFile> = {}): BackupFile => ({
  database: 'primary',
  path: `s3://${bucket}/${key}`,
  location: { kind: 's3', bucket, key, endpoint, region: 'us-east-1' },
  bytes: body.length,
  sha256: createHash('sha256').update(body).digest('hex'),
  tocEntries: 1,
  ...over,
});

const reader = () => ({
  name: 'src-test',
  hostname: () => 'here',
  s3: (svc: Parameters<typeof s3ClientFor>[0]) => s3ClientFor(svc),
  config: { backup: { dir, keep: 1 } as never },
});
const copies = () => fs.readdirSync(dir).filter((n) => n.startsWith('rr-restore-src-test-'));

beforeAll(async () => {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
});
afterAll(async () => {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  client.destroy();
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-source-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('an S3 object is copied through its checksum; the copy is the object, and released it is gone', async () => {
  const copy = (await new MockActivityEnvironment().run(() => verifiedLocalCopy(reader(), file()))) as LocalArchive;
  expect(copy.where).toBe(`s3://${bucket}/${key}`);
  expect(fs.readFileSync(copy.path).equals(body)).toBe(true);
  expect(copies()).toHaveLength(1);
  copy.release();
  expect(copies()).toEqual([]);
});

test('a copy whose checksum is not the record’s is refused and removed', async () => {
  const wrong = file({ sha256: 'f'.repeat(64) });
  await expect(new MockActivityEnvironment().run(() => verifiedLocalCopy(reader(), wrong))).rejects.toThrow(
    /does not match its record/,
  );
  expect(copies()).toEqual([]);
});

test('cancelled mid-download: the activity reports the cancellation and no copy is left', async () => {
  const env = new MockActivityEnvironment();
  let seen = 0;
  const p = env.run(() =>
    verifiedLocalCopy(reader(), file(), (n) => {
      seen = n;
      if (n > 0) env.cancel();
    }),
  );
  await expect(p).rejects.toMatchObject({ name: 'CancelledFailure' });
  expect(seen).toBeLessThan(body.length);
  expect(copies()).toEqual([]);
});

test('a missing object is unreadable, with its bucket and key named, not damaged', async () => {
  const gone = file({ location: { kind: 's3', bucket, key: `${key}.gone`, endpoint, region: 'us-east-1' } });
  const err = (await new MockActivityEnvironment().run(() => assertChecksum(reader(), gone)).catch((e) => e)) as {
    type: string;
    message: string;
  };
  expect(err.type).toBe('BackupUnreadable');
  expect(err.message).toContain(`bucket ${bucket}, key ${key}.gone: NoSuchKey`);
  expect(err.message).not.toMatch(/does not match/);
});
