/** A target's storage section (ActiveStorage services, the purge, quarantine) and its backup section. */
import { z } from 'zod';
import { DEFAULTS } from './defaults';
import { AT_PARENT, anyStr, bool, httpUrl, int, num, obj, str } from './schema-parts';

const SERVICE_KIND = '"s3" (the default) or "disk" (ActiveStorage\'s Disk service: files in a folder).';
const purge = bool(
  'false: files of this service are never deleted (the plan says so; its blobs are still truncated).',
).default(DEFAULTS.storage.purge);
const s3Service = obj(
  {
    kind: z.literal('s3', { error: 'expected "s3" or "disk"' }).describe(SERVICE_KIND).default('s3'),
    bucket: str("The service's bucket, as storage.yml names it."),
    prefix: anyStr('Key prefix of the service (ActiveStorage keys are appended to it).').optional(),
    region: str('AWS region of the bucket, e.g. "eu-west-1".').optional(),
    endpoint: httpUrl('S3-compatible endpoint, e.g. "https://minio.internal:9000".').optional(),
    forcePathStyle: bool('Path-style addressing (MinIO and most S3-compatible servers).').optional(),
    purge,
  },
  'expected an object',
);
const diskService = obj(
  {
    kind: z.literal('disk', { error: 'expected "s3" or "disk"' }).describe(SERVICE_KIND),
    root: str("The Disk service's root folder; relative paths resolve against the targets file."),
    purge,
  },
  'expected an object',
);
const storageService = z
  .union([s3Service, diskService], { error: 'expected {"bucket": "..."} (S3) or {"kind": "disk", "root": "..."}' })
  .describe('An S3 service {"bucket": …} or a Disk service {"kind": "disk", "root": …}.');

const DISK_FOLDER =
  'expected a folder name relative to the Disk service root, e.g. ".reset-quarantine" (no "..", not absolute)';
const quarantine = obj(
  {
    bucket: str('The bucket S3 services copy their objects to; required when a service is on S3.').optional(),
    prefix: anyStr('Key prefix of the copies.').default(DEFAULTS.quarantine.prefix),
    days: num(1, "Documentation for the bucket's lifecycle rule, which expires the copies; not enforced.").optional(),
    diskFolder: str(
      "Disk services: the purge moves (renames, never leaving the root's volume) each file to `<root>/<diskFolder>/<reset run id>/<its path under the root>`, and a restore moves it back. Relative to the service's root; Rails never reads it.",
    )
      .refine((v) => !v.startsWith('/') && !v.split(/[\\/]/).some((part) => part === '..' || part === ''), {
        error: DISK_FOLDER,
      })
      .default(DEFAULTS.quarantine.diskFolder),
  },
  'expected {"bucket": "...", "prefix": "reset-quarantine/", "days": 30}',
);

export const storage = obj(
  {
    services: z
      .record(z.string(), storageService, { error: 'expected {"<ActiveStorage service name>": {"bucket": "..."}}' })
      .refine((s) => Object.keys(s).length > 0, {
        error: 'expected {"<ActiveStorage service name>": {"bucket": "..."}}',
      })
      .describe('Keyed by ActiveStorage service name (active_storage_blobs.service_name), e.g. "amazon".'),
    pageSize: int(1, 1000, 'Keys per ListObjectsV2 page and DeleteObjects call.').default(DEFAULTS.storage.pageSize),
    concurrency: int(1, 32, 'DeleteObjects calls (Disk: unlink batches) in flight.').default(
      DEFAULTS.storage.concurrency,
    ),
    sampleSize: int(
      0,
      1000,
      'Keys the plan HEADs (Disk: stat) to report how many of the objects to delete really exist; 0 turns the sample off.',
    ).default(DEFAULTS.storage.sampleSize),
    quarantine: quarantine
      .describe(
        "Before the purge deletes an S3 object it copies it to `bucket` (server-side CopyObject) under `<prefix><reset run id>/<service>/<original key>`; a Disk service's files are moved to `diskFolder` in its root. A restore brings them back.",
      )
      .optional(),
  },
  'expected an object',
).superRefine(
  (s, ctx) => {
    const onS3 = Object.entries(s?.services ?? {}).find(([, svc]) => svc.kind !== 'disk');
    if (s?.quarantine && !s.quarantine.bucket && onS3)
      ctx.addIssue({
        code: 'custom',
        path: ['quarantine', 'bucket'],
        message: `required: service "${onS3[0]}" is on S3, and its objects are copied to this bucket`,
      });
  },
  { when: () => true },
);

const S3_DESTINATION = 'expected {"kind": "s3", "bucket": "...", "prefix": "..."}';
const s3Destination = obj(
  {
    kind: z.literal('s3', { error: AT_PARENT + S3_DESTINATION }).describe('"s3", the only kind.'),
    bucket: str('The bucket the backups are written to.'),
    prefix: anyStr('Key prefix, e.g. "reset-runbook/production/"; include the trailing slash.').optional(),
    region: str('AWS region of the bucket, e.g. "eu-west-1".').optional(),
    endpoint: httpUrl('S3-compatible endpoint.').optional(),
    forcePathStyle: bool('Path-style addressing.').optional(),
    serverSideEncryption: z
      .enum(['AES256', 'aws:kms'], { error: 'expected "AES256" or "aws:kms"' })
      .describe(
        'Server-side encryption of the uploaded backups: "AES256" (keys managed by S3) or "aws:kms" (see kmsKeyId).',
      )
      .optional(),
    kmsKeyId: str('With "aws:kms": the key\'s id or ARN (default: the bucket\'s AWS managed key).').optional(),
  },
  S3_DESTINATION,
).superRefine(
  (d, ctx) => {
    if (d?.kmsKeyId !== undefined && d.serverSideEncryption !== 'aws:kms')
      ctx.addIssue({ code: 'custom', path: ['kmsKeyId'], message: 'only with serverSideEncryption "aws:kms"' });
  },
  { when: () => true },
);

export const backup = obj(
  {
    dir: str(
      'The local folder of backups, manifests and journals. Required unless destination is S3. Relative paths resolve against the targets file.',
    ).optional(),
    destination: s3Destination
      .describe('Backups (and the run state kept beside them) in a bucket every worker host reaches, instead of dir.')
      .optional(),
    keep: num(1, 'Backups kept per database.').default(DEFAULTS.backup.keep),
    maxAgeMinutes: num(0.01, 'The reset refuses a backup older than this (a run takes a fresh one first).').default(
      DEFAULTS.backup.maxAgeMinutes,
    ),
    jobs: int(
      1,
      64,
      'Parallel pg_dump jobs. 1 (default): one `pg_dump -Fc` file, the quicker for small databases. N > 1: `pg_dump -Fd -j N` (N + 1 connections to the database), kept as a folder in backup.dir, or staged there (else in TMPDIR) and packed into one tar object in S3; the restore drill restores it with `pg_restore -j N` (the undo loads it in one transaction, from one stream).',
    ).default(DEFAULTS.backup.jobs),
    pgDump: str('pg_dump to use; default from PATH.').optional(),
    pgRestore: str('pg_restore to use; default from PATH.').optional(),
    verify: z
      .enum(['list', 'restore'], { error: 'expected "list" or "restore"' })
      .describe(
        'How a fresh backup is proven before the approval: "list" reads its table of contents (pg_restore --list); "restore" also restores it into a scratch database on the same server (needs CREATEDB) and compares every table\'s row count with the source.',
      )
      .default(DEFAULTS.backup.verify),
  },
  'required, e.g. {"dir": "/var/backups/reset-runbook"}',
);
