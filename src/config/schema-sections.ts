/**
 * The sections of a target in the targets file (database, seeds, strategy, workers, storage, backup,
 * verify, schedule, notify), made of the building blocks of schema-parts.ts; schema.ts puts them
 * together into a target and the whole file.
 */
import { z } from 'zod';
import { NOTIFY_EVENTS } from '../contract';
import { DEFAULTS } from './defaults';
import {
  AT_PARENT,
  Env,
  anyStr,
  bool,
  command,
  duration,
  envMap,
  httpUrl,
  int,
  list,
  num,
  obj,
  str,
  strList,
  urlEnv,
} from './schema-parts';

export function databaseFields(env: Env | undefined) {
  return {
    urlEnv: urlEnv('database URL', env),
    schemas: strList("Schemas to reset. Default: the connection's search path (its existing schemas).").optional(),
    keepTables: strList(
      'Tables kept besides schema_migrations and ar_internal_metadata (always kept): "table" or "schema.table".',
    ).optional(),
    refreshMaterializedViews: bool(
      'Refresh the materialized views that read truncated tables after the seeds, so they show the new rows. When false they keep their old rows (the plan says so).',
    ).default(DEFAULTS.database.refreshMaterializedViews),
  };
}

const runSettings = {
  cwd: anyStr('Working directory; relative paths resolve against the targets file.').optional(),
  env: envMap("Extra environment; `${VAR}` is taken from the worker's environment.").optional(),
};

const sqlSeeds = obj(
  {
    sqlFile: str('Applied in the same transaction as the TRUNCATE. Relative paths resolve against the targets file.'),
    database: str('"primary" or an extra database\'s name.').default('primary'),
  },
  'expected an object',
);
const commandSeeds = obj(
  {
    command: command('Run after the TRUNCATE commits, e.g. ["bin/rails", "db:seed"].'),
    ...runSettings,
    timeoutSeconds: num(1, 'Seconds before the seed command is killed.').default(DEFAULTS.seeds.timeoutSeconds),
  },
  'expected an object',
);
export const seeds = z.union([sqlSeeds, commandSeeds], {
  error: 'expected either {"sqlFile": "..."} or {"command": [...]}',
});

export const strategy = z.discriminatedUnion(
  'kind',
  [
    obj({ kind: z.literal('replant') }, 'expected an object'),
    obj(
      {
        kind: z.literal('rebuild'),
        command: command('For a corrupted schema only: `bin/rails db:reset` or `db:migrate:reset`. High risk.'),
        ...runSettings,
        timeoutSeconds: num(1, 'Seconds before the rebuild command is killed.').default(
          DEFAULTS.strategy.rebuildTimeoutSeconds,
        ),
      },
      'expected an object',
    ),
  ],
  { error: 'expected "replant" or "rebuild"' },
);

export const workers = obj(
  {
    stop: str('Shell command, e.g. "sudo systemctl stop solid_queue" or "ssh app1 sudo systemctl stop solid_queue".'),
    start: str('Shell command that starts the workers again.'),
    status: str('Shell command that shows the workers (for operators).').optional(),
    ...runSettings,
    database: str('Which database holds solid_queue_processes: "primary" or an extra database\'s name.').default(
      DEFAULTS.workers.database,
    ),
    heartbeatThresholdSeconds: num(
      1,
      "A process whose heartbeat is older than this is dead (Solid Queue's process_alive_threshold).",
    ).default(DEFAULTS.workers.heartbeatThresholdSeconds),
    stopTimeoutSeconds: num(1, 'Seconds the stop command and the wait for no live process may take.').default(
      DEFAULTS.workers.stopTimeoutSeconds,
    ),
    startTimeoutSeconds: num(1, 'Seconds the start command and the wait for fresh heartbeats may take.').default(
      DEFAULTS.workers.startTimeoutSeconds,
    ),
    restartBudgetSeconds: num(
      1,
      'Total time a failing run may spend starting the workers again before it says they are still stopped.',
    ).default(DEFAULTS.workers.restartBudgetSeconds),
    whenNoneAliveBefore: z
      .enum(['start', 'leave'], { error: 'expected "start" or "leave"' })
      .describe(
        'When no Solid Queue process is alive before the reset: "start" starts them at the end anyway; "leave" leaves them stopped, as they were.',
      )
      .default(DEFAULTS.workers.whenNoneAliveBefore),
  },
  'expected an object with "stop" and "start" commands',
);

const purge = bool(
  'false: files of this service are never deleted (the plan says so; its blobs are still truncated).',
).default(DEFAULTS.storage.purge);
const s3Service = obj(
  {
    kind: z.literal('s3', { error: 'expected "s3" or "disk"' }).default('s3'),
    bucket: str(),
    prefix: anyStr('Key prefix of the service (ActiveStorage keys are appended to it).').optional(),
    region: str().optional(),
    endpoint: httpUrl('S3-compatible endpoint, e.g. "https://minio.internal:9000".').optional(),
    forcePathStyle: bool('Path-style addressing (MinIO and most S3-compatible servers).').optional(),
    purge,
  },
  'expected an object',
);
const diskService = obj(
  {
    kind: z.literal('disk', { error: 'expected "s3" or "disk"' }),
    root: str("The Disk service's root folder; relative paths resolve against the targets file."),
    purge,
  },
  'expected an object',
);
const storageService = z.union([s3Service, diskService], {
  error: 'expected {"bucket": "..."} (S3) or {"kind": "disk", "root": "..."}',
});

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
    kind: z.literal('s3', { error: AT_PARENT + S3_DESTINATION }),
    bucket: str(),
    prefix: anyStr('Key prefix, e.g. "reset-runbook/production/"; include the trailing slash.').optional(),
    region: str().optional(),
    endpoint: httpUrl('S3-compatible endpoint.').optional(),
    forcePathStyle: bool('Path-style addressing.').optional(),
    serverSideEncryption: z.enum(['AES256', 'aws:kms'], { error: 'expected "AES256" or "aws:kms"' }).optional(),
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

export const expectedCount = obj(
  {
    label: str('As the runbook prints it, e.g. "Users".'),
    table: str(),
    database: str().default('primary'),
    count: num(0, 'Exact rows expected.').optional(),
    min: num(0, 'At least this many rows.').optional(),
    max: num(0, 'At most this many rows.').optional(),
  },
  'expected an object',
);

/**
 * A scheduled reset (Temporal's Schedule API, kept in step with this file by `reset-runbook schedule
 * sync`). Cron in Temporal's five-field syntax; the time zone an IANA name.
 */
const CRON = /^\S+(\s+\S+){4}$/;
const CRON_RULE =
  'expected a cron expression of five fields, e.g. "0 5 * * *" (minute hour day-of-month month day-of-week)';
export const schedule = obj(
  {
    cron: z
      .string({ error: CRON_RULE })
      .regex(CRON, { error: CRON_RULE })
      .describe('When it runs, e.g. "0 5 * * *" (05:00 every day).'),
    timezone: str('An IANA time zone, e.g. "Europe/Berlin". Default UTC.').optional(),
    jitter: duration(
      'Each run starts up to this much later, at random (spreads many schedules), e.g. "5m".',
    ).optional(),
    pauseOnFailure: bool('Pause the schedule after a run that did not complete, until a person unpauses it.').default(
      false,
    ),
  },
  'expected {"cron": "0 5 * * *", "timezone": "Europe/Berlin", "jitter": "5m", "pauseOnFailure": true}',
).describe(
  'Reset on a calendar, unattended: refused for production and for targets that require approval. `reset-runbook schedule sync` creates it in Temporal.',
);

export const webhook = (env: Env | undefined) =>
  obj(
    {
      urlEnv: urlEnv('webhook URL', env),
      events: list(
        (m) => z.enum(NOTIFY_EVENTS, { error: m }),
        `expected a non-empty list of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')} (or leave it out for all)`,
        'The events this webhook receives. Default: all of them.',
      )
        .min(1, {
          error: `expected a non-empty list of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')} (or leave it out for all)`,
        })
        .optional(),
    },
    'expected an object {"urlEnv": "..."}',
  );
