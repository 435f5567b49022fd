/**
 * The S3 backup destination on the real stack (moto, pg_dump, pg_restore): the backup is an object
 * with its SHA-256 as recorded, retention keeps the newest backup.keep, and the purge manifests and
 * journals of the runs whose backups retention removed go with them. Calls the backup activity in
 * an activity context (no workflow needed to prove what it leaves in the bucket).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackupActivities } from '../../src/activities/backup';
import { loadTargetsFile } from '../../src/config/load';
import type { BackupRecord } from '../../src/contract';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('S3 backups: the object matches its SHA-256, retention keeps the newest N, and old runs’ manifests go with their backups', async () => {
  const prefix = `rr-backups-${randomUUID().slice(0, 8)}/`;
  f = await fixture({
    target: {
      backup: {
        keep: 2,
        destination: {
          kind: 's3',
          bucket: process.env.RR_S3_BUCKET!,
          prefix,
          endpoint: process.env.RR_S3_ENDPOINT!,
          forcePathStyle: true,
          region: 'us-east-1',
          serverSideEncryption: 'AES256',
        },
      },
    },
  });
  const s3 = new S3Client({ endpoint: f.endpoint, forcePathStyle: true, region: 'us-east-1' });
  const put = (name: string) =>
    s3.send(new PutObjectCommand({ Bucket: f.bucket, Key: `${prefix}${name}`, Body: '{}' }));
  const acts = createBackupActivities({ targets: loadTargetsFile(f.targetsFile, f.workerEnv), env: f.workerEnv });
  const backup = () =>
    new MockActivityEnvironment().run(acts.backupDatabase, { target: f.target }) as Promise<BackupRecord>;
  const names = async () => [...(await f.objects(prefix)).keys()].map((k) => k.slice(prefix.length)).sort();
  // Object times have one-second resolution: keep each run's state clearly between two backups.
  const run = async () => {
    await sleep(1100);
    const id = randomUUID();
    await put(`purge_manifest_${f.target}_${id}.json`);
    await put(`purge_progress_${f.target}_${id}.json`);
    await put(`reset_journal_${f.target}_${id}.json`);
    await sleep(1100);
    return id;
  };

  const run0 = await run();
  const b1 = await backup();
  const run1 = await run();
  const b2 = await backup();
  const run2 = await run();
  // Another target's state under the same prefix is never touched.
  await put(`purge_manifest_${f.target}x_${randomUUID()}.json`);
  const b3 = await backup();

  const stampOf = (b: BackupRecord) => /_(\d{8}-\d{6})\.dump$/.exec(b.files[0].path)![1];
  const left = await names();
  for (const b of [b2, b3]) {
    expect(left).toContain(`backup_pre_reset_${f.target}_${stampOf(b)}.dump`);
    expect(left).toContain(`backup_pre_reset_${f.target}_${stampOf(b)}.json`);
  }
  expect(left.filter((n) => n.includes(stampOf(b1)))).toEqual([]);
  expect(left.filter((n) => n.includes(run0) || n.includes(run1))).toEqual([]);
  expect(left.filter((n) => n.includes(run2))).toHaveLength(3);
  expect(left.filter((n) => n.startsWith(`purge_manifest_${f.target}x_`))).toHaveLength(1);

  // The newest backup: where the record says, whole, encrypted at rest as configured.
  const file = b3.files[0];
  expect(file.location).toMatchObject({
    kind: 's3',
    bucket: f.bucket,
    key: `${prefix}backup_pre_reset_${f.target}_${stampOf(b3)}.dump`,
  });
  expect(file.tocEntries).toBeGreaterThan(10);
  const key = (file.location as { key: string }).key;
  const body = (await s3.send(new GetObjectCommand({ Bucket: f.bucket, Key: key }))).Body as Readable;
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const c of body) {
    hash.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  expect([bytes, hash.digest('hex')]).toEqual([file.bytes, file.sha256]);
  expect((await s3.send(new HeadObjectCommand({ Bucket: f.bucket, Key: key }))).ServerSideEncryption).toBe('AES256');
  // The record object is what a restore reads: the same files, checksums included.
  const record = JSON.parse(
    await (
      await s3.send(
        new GetObjectCommand({ Bucket: f.bucket, Key: `${prefix}backup_pre_reset_${f.target}_${stampOf(b3)}.json` }),
      )
    ).Body!.transformToString(),
  );
  expect(record.files).toEqual(b3.files);
  s3.destroy();
});
