/**
 * The targets file, defined once: the types (types.ts), the checks and messages of the loader
 * (load.ts), the defaults filled in at load (from defaults.ts) and the published JSON Schema
 * (deploy/targets.schema.json, `npm run schema`) all come from this module.
 *
 * Why zod (v4): it derives the TypeScript types and the JSON Schema (`z.toJSONSchema`) from one
 * definition, fills defaults while parsing, reports every issue with its path in one pass, and lets
 * each check carry our own message, so the operator-facing wording stays ours. TypeBox starts from
 * JSON Schema (better for a schema-first project, but its error messages are generic and defaults
 * need a separate `Value.Default` pass); valibot's JSON Schema export is a separate package. Zod is
 * used on the worker side only: the workflow bundle never imports this module (defaults.ts and
 * rules.ts are the plain parts it shares).
 *
 * Secrets appear only as the *names* of environment variables (`urlEnv`), never as values. Checks
 * that need the worker's environment (is the variable set? does a webhook variable hold a URL?) run
 * when an environment is given to `targetsFileSchema(env)`; the JSON Schema is built without one.
 */
import { z } from 'zod';
import { NOTIFY_EVENTS } from '../contract';
import { DEFAULTS } from './defaults';
import { DURATION, DURATION_RULE, ENV_NAME, TARGET_NAME, TARGET_NAME_RULE, envNameProblem } from './rules';

type Env = Record<string, string | undefined>;

/** A message that starts with this is about the enclosing object: the loader reports it there. */
export const AT_PARENT = '\u2191';
type Shape = Record<string, z.ZodType>;

// ---- building blocks: each carries the message the operator reads ----
// (No `abort: true` in them: an explicit abort would also stop the checks between fields, and every
// problem is to be reported at once.)

/** An object that refuses unknown fields (a typo must not silently fall back to a default). */
function obj<S extends Shape>(shape: S, message: string) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? `known fields here: ${known}` : message) });
}
const str = (description?: string) => {
  const s = z
    .string({ error: 'expected a non-empty string' })
    .min(1, { error: 'expected a non-empty string' })
    .refine((v) => v === '' || v.trim() !== '', { error: 'expected a non-empty string' });
  return description ? s.describe(description) : s;
};
const anyStr = (description: string) => z.string({ error: 'expected a string' }).describe(description);
const num = (min: number, description: string) =>
  z
    .number({ error: `expected a number >= ${min}` })
    .min(min, { error: `expected a number >= ${min}` })
    .describe(description);
const int = (min: number, max: number, description: string) => {
  const m = `expected a whole number from ${min} to ${max}`;
  return z.number({ error: m }).int({ error: m }).min(min, { error: m }).max(max, { error: m }).describe(description);
};
const bool = (description: string) => z.boolean({ error: 'expected true or false' }).describe(description);
/** A list whose every message names the whole list (the loader reports it at the list's path). */
const list = <T extends z.ZodType>(item: (m: string) => T, message: string, description: string) => z.array(item(message), { error: message }).describe(description);
const strList = (description: string) => list((m) => z.string({ error: m }).min(1, { error: m }), 'expected a list of non-empty strings', description);
const command = (description: string) =>
  list((m) => z.string({ error: m }), 'expected a command as a list of strings, e.g. ["bin/rails", "db:seed"]', description).min(1, {
    error: 'expected a command as a list of strings, e.g. ["bin/rails", "db:seed"]',
  });
const envMap = (description: string) => z.record(z.string(), z.string({ error: 'expected an object of string values' }), { error: 'expected an object of string values' }).describe(description);
const duration = (description: string) =>
  z
    .string({ error: `expected ${DURATION_RULE}` })
    .regex(DURATION, { error: `expected ${DURATION_RULE}` })
    .describe(description);
const httpUrl = (description: string) =>
  z
    .string({ error: 'expected an http(s) URL' })
    .regex(/^https?:\/\//, { error: 'expected an http(s) URL' })
    .refine((v) => !/^https?:\/\/[^/]*@/.test(v), { error: 'must not carry credentials; use the AWS credential chain' })
    .describe(description);

/**
 * The name of an environment variable holding a URL. A value that is not a name (the URL pasted
 * in its place) is refused without being repeated; with an environment, the variable must be set
 * (and for a webhook, hold an http(s) URL, again without repeating it).
 */
function urlEnv(what: 'database URL' | 'webhook URL', env: Env | undefined) {
  return z
    .string({ error: envNameProblem(what) })
    .regex(ENV_NAME, { error: envNameProblem(what) })
    .superRefine((name, ctx) => {
      if (!env || !ENV_NAME.test(name)) return;
      const value = env[name];
      if (!value) ctx.addIssue({ code: 'custom', message: `environment variable ${name} is not set on this worker` });
      else if (what === 'webhook URL' && !/^https?:\/\/[^\s]+$/.test(value)) ctx.addIssue({ code: 'custom', message: `environment variable ${name} does not hold an http(s) URL` });
    })
    .describe(`Name of the worker's environment variable holding the ${what} (a secret: never the URL itself), e.g. "DATABASE_URL".`);
}

// ---- the file ----

function databaseFields(env: Env | undefined) {
  return {
    urlEnv: urlEnv('database URL', env),
    schemas: strList("Schemas to reset. Default: the connection's search path (its existing schemas).").optional(),
    keepTables: strList('Tables kept besides schema_migrations and ar_internal_metadata (always kept): "table" or "schema.table".').optional(),
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
const seeds = z.union([sqlSeeds, commandSeeds], { error: 'expected either {"sqlFile": "..."} or {"command": [...]}' });

const strategy = z.discriminatedUnion(
  'kind',
  [
    obj({ kind: z.literal('replant') }, 'expected an object'),
    obj(
      {
        kind: z.literal('rebuild'),
        command: command('For a corrupted schema only: `bin/rails db:reset` or `db:migrate:reset`. High risk.'),
        ...runSettings,
        timeoutSeconds: num(1, 'Seconds before the rebuild command is killed.').default(DEFAULTS.strategy.rebuildTimeoutSeconds),
      },
      'expected an object',
    ),
  ],
  { error: 'expected "replant" or "rebuild"' },
);

const workers = obj(
  {
    stop: str('Shell command, e.g. "sudo systemctl stop solid_queue" or "ssh app1 sudo systemctl stop solid_queue".'),
    start: str('Shell command that starts the workers again.'),
    status: str('Shell command that shows the workers (for operators).').optional(),
    ...runSettings,
    database: str('Which database holds solid_queue_processes: "primary" or an extra database\'s name.').default(DEFAULTS.workers.database),
    heartbeatThresholdSeconds: num(1, "A process whose heartbeat is older than this is dead (Solid Queue's process_alive_threshold).").default(DEFAULTS.workers.heartbeatThresholdSeconds),
    stopTimeoutSeconds: num(1, 'Seconds the stop command and the wait for no live process may take.').default(DEFAULTS.workers.stopTimeoutSeconds),
    startTimeoutSeconds: num(1, 'Seconds the start command and the wait for fresh heartbeats may take.').default(DEFAULTS.workers.startTimeoutSeconds),
    restartBudgetSeconds: num(1, 'Total time a failing run may spend starting the workers again before it says they are still stopped.').default(DEFAULTS.workers.restartBudgetSeconds),
    whenNoneAliveBefore: z
      .enum(['start', 'leave'], { error: 'expected "start" or "leave"' })
      .describe('When no Solid Queue process is alive before the reset: "start" starts them at the end anyway; "leave" leaves them stopped, as they were.')
      .default(DEFAULTS.workers.whenNoneAliveBefore),
  },
  'expected an object with "stop" and "start" commands',
);

const purge = bool('false: files of this service are never deleted (the plan says so; its blobs are still truncated).').default(DEFAULTS.storage.purge);
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
const storageService = z.union([s3Service, diskService], { error: 'expected {"bucket": "..."} (S3) or {"kind": "disk", "root": "..."}' });

const DISK_FOLDER = 'expected a folder name relative to the Disk service root, e.g. ".reset-quarantine" (no "..", not absolute)';
const quarantine = obj(
  {
    bucket: str('The bucket S3 services copy their objects to; required when a service is on S3.').optional(),
    prefix: anyStr('Key prefix of the copies.').default(DEFAULTS.quarantine.prefix),
    days: num(1, "Documentation for the bucket's lifecycle rule, which expires the copies; not enforced.").optional(),
    diskFolder: str(
      "Disk services: the purge moves (renames, never leaving the root's volume) each file to `<root>/<diskFolder>/<reset run id>/<its path under the root>`, and a restore moves it back. Relative to the service's root; Rails never reads it.",
    )
      .refine((v) => !v.startsWith('/') && !v.split(/[\\/]/).some((part) => part === '..' || part === ''), { error: DISK_FOLDER })
      .default(DEFAULTS.quarantine.diskFolder),
  },
  'expected {"bucket": "...", "prefix": "reset-quarantine/", "days": 30}',
);

const storage = obj(
  {
    services: z
      .record(z.string(), storageService, { error: 'expected {"<ActiveStorage service name>": {"bucket": "..."}}' })
      .refine((s) => Object.keys(s).length > 0, { error: 'expected {"<ActiveStorage service name>": {"bucket": "..."}}' })
      .describe('Keyed by ActiveStorage service name (active_storage_blobs.service_name), e.g. "amazon".'),
    pageSize: int(1, 1000, 'Keys per ListObjectsV2 page and DeleteObjects call.').default(DEFAULTS.storage.pageSize),
    concurrency: int(1, 32, 'DeleteObjects calls (Disk: unlink batches) in flight.').default(DEFAULTS.storage.concurrency),
    sampleSize: int(0, 1000, 'Keys the plan HEADs (Disk: stat) to report how many of the objects to delete really exist; 0 turns the sample off.').default(DEFAULTS.storage.sampleSize),
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
      ctx.addIssue({ code: 'custom', path: ['quarantine', 'bucket'], message: `required: service "${onS3[0]}" is on S3, and its objects are copied to this bucket` });
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
    if (d?.kmsKeyId !== undefined && d.serverSideEncryption !== 'aws:kms') ctx.addIssue({ code: 'custom', path: ['kmsKeyId'], message: 'only with serverSideEncryption "aws:kms"' });
  },
  { when: () => true },
);

const backup = obj(
  {
    dir: str('The local folder of backups, manifests and journals. Required unless destination is S3. Relative paths resolve against the targets file.').optional(),
    destination: s3Destination.describe('Backups (and the run state kept beside them) in a bucket every worker host reaches, instead of dir.').optional(),
    keep: num(1, 'Backups kept per database.').default(DEFAULTS.backup.keep),
    maxAgeMinutes: num(0.01, 'The reset refuses a backup older than this (a run takes a fresh one first).').default(DEFAULTS.backup.maxAgeMinutes),
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

const expectedCount = obj(
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
const CRON_RULE = 'expected a cron expression of five fields, e.g. "0 5 * * *" (minute hour day-of-month month day-of-week)';
const schedule = obj(
  {
    cron: z.string({ error: CRON_RULE }).regex(CRON, { error: CRON_RULE }).describe('When it runs, e.g. "0 5 * * *" (05:00 every day).'),
    timezone: str('An IANA time zone, e.g. "Europe/Berlin". Default UTC.').optional(),
    jitter: duration('Each run starts up to this much later, at random (spreads many schedules), e.g. "5m".').optional(),
    pauseOnFailure: bool('Pause the schedule after a run that did not complete, until a person unpauses it.').default(false),
  },
  'expected {"cron": "0 5 * * *", "timezone": "Europe/Berlin", "jitter": "5m", "pauseOnFailure": true}',
).describe('Reset on a calendar, unattended: refused for production and for targets that require approval. `reset-runbook schedule sync` creates it in Temporal.');

const share = z
  .union([z.number().int().min(0), z.string().regex(/^\d+(\.\d+)?%$/)], { error: 'expected a whole number or a percentage like "25%"' })
  .describe('A count, or a share of the group\'s targets like "25%".');
const group = z
  .union(
    [
      z.array(z.string().regex(TARGET_NAME), { error: 'expected a list of target names' }),
      obj(
        {
          targets: z.array(z.string().regex(TARGET_NAME), { error: 'expected a list of target names' }).min(1, { error: 'expected at least one target' }),
          maxConcurrent: share.optional(),
          maxFailures: share.optional(),
          batches: z.array(share, { error: 'expected a list like [1, "25%", "100%"]' }).optional(),
          schedule: schedule.optional(),
        },
        'expected an object',
      ),
    ],
    { error: 'expected a list of target names, or {"targets": [...], "schedule": {...}}' },
  )
  .describe('Targets reset together by `reset-runbook fleet start --group <name>`, in this order.');

const webhook = (env: Env | undefined) =>
  obj(
    {
      urlEnv: urlEnv('webhook URL', env),
      events: list(
        (m) => z.enum(NOTIFY_EVENTS, { error: m }),
        `expected a non-empty list of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')} (or leave it out for all)`,
        'The events this webhook receives. Default: all of them.',
      )
        .min(1, { error: `expected a non-empty list of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')} (or leave it out for all)` })
        .optional(),
    },
    'expected an object {"urlEnv": "..."}',
  );

function target(env: Env | undefined) {
  return obj(
    {
      database: obj(databaseFields(env), 'required, e.g. {"urlEnv": "DATABASE_URL"}'),
      secretEnv: list(
        (m) => z.string({ error: m }).regex(ENV_NAME, { error: m }),
        'expected a list of environment variable NAMES, e.g. ["STRIPE_KEY"] (never the values)',
        'Further environment variables of the worker whose values are secrets: redacted from every result, error and log. Child processes get one only when seeds.env / workers.env / strategy.env pass it.',
      ).optional(),
      extraDatabases: z
        .array(obj({ name: str('Logical name, as database.yml calls it: "queue", "cache", "cable".'), ...databaseFields(env) }, 'expected an object'), { error: 'expected a list' })
        .optional(),
      restartIdentity: bool('Restart identity sequences. Default false: ids keep counting, as db:seed:replant leaves them.').default(DEFAULTS.restartIdentity),
      seeds: seeds.optional(),
      strategy: strategy.default({ kind: 'replant' }),
      workers: workers.optional(),
      storage: storage.optional(),
      backup,
      verify: obj(
        { expect: z.array(expectedCount, { error: 'expected a list of {"label", "table", "count" | "min"/"max"}' }) },
        'expected a list of {"label", "table", "count" | "min"/"max"}',
      ).optional(),
      schedule: schedule.optional(),
      approval: obj(
        {
          required: bool('Always wait for a person to approve (production always does).').default(DEFAULTS.approval.required),
          timeout: duration('How long a run waits for approval.').default(DEFAULTS.approval.timeout),
        },
        'expected an object',
      ).prefault({}),
      timing: obj(
        {
          heartbeatTimeoutSeconds: num(1, 'A worker that dies mid-step is noticed after this long and the step is retried elsewhere.').default(DEFAULTS.timing.heartbeatTimeoutSeconds),
          maximumAttempts: num(1, 'Attempts per step before the run waits for an operator.').default(DEFAULTS.timing.maximumAttempts),
          lockTimeoutSeconds: num(1, 'How long the TRUNCATE waits for a table lock held by another session.').default(DEFAULTS.timing.lockTimeoutSeconds),
        },
        'expected an object',
      ).prefault({}),
      plan: obj(
        {
          exactCounts: bool('Count every table exactly, however large.').default(DEFAULTS.plan.exactCounts),
          estimateAboveRows: z
            .number({ error: 'expected a whole number >= 0' })
            .int({ error: 'expected a whole number >= 0' })
            .min(0, { error: 'expected a whole number >= 0' })
            .describe('Tables whose pg_class.reltuples estimate is at least this are shown with the estimate (marked "≈") unless exactCounts.')
            .default(DEFAULTS.plan.estimateAboveRows),
        },
        'expected an object',
      ).prefault({}),
      notify: obj({ webhooks: z.array(webhook(env), { error: `${AT_PARENT}expected {"webhooks": [{"urlEnv": "SLACK_WEBHOOK_URL"}]}` }) }, 'expected {"webhooks": [{"urlEnv": "SLACK_WEBHOOK_URL"}]}')
        .describe('Who hears about a run that waits for a person, leaves the workers stopped, completes or fails: a JSON POST (Slack-compatible).')
        .optional(),
    },
    'must be an object',
  ).superRefine(crossChecks, { when: () => true });
}

/**
 * Checks between fields. They run even when other fields of the target are wrong (so every problem
 * is reported at once), hence the defensive reading of a value that may not have parsed.
 */
function crossChecks(t: unknown, ctx: z.RefinementCtx): void {
  if (typeof t !== 'object' || t === null) return;
  const x = t as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const names = new Set(['primary']);
  if (Array.isArray(x.extraDatabases))
    x.extraDatabases.forEach((d: { name?: unknown }, i: number) => {
      if (typeof d?.name !== 'string') return;
      if (names.has(d.name)) add(['extraDatabases', i, 'name'], `"${d.name}" is used twice (or is the reserved "primary")`);
      names.add(d.name);
    });
  const known = (v: unknown, path: (string | number)[]) => {
    if (typeof v === 'string' && !names.has(v)) add(path, `"${v}" is not one of ${[...names].join(', ')}`);
  };
  if (x.seeds && typeof x.seeds === 'object' && 'sqlFile' in x.seeds) known(x.seeds.database, ['seeds', 'database']);
  if (x.workers && typeof x.workers === 'object') known(x.workers.database, ['workers', 'database']);
  const b = x.backup;
  if (b && typeof b === 'object') {
    const s3 = b.destination?.kind === 's3';
    if (!s3 && b.dir === undefined) add(['backup', 'dir'], 'expected a non-empty string');
  }
  if (Array.isArray(x.verify?.expect))
    x.verify.expect.forEach((e: Record<string, unknown>, i: number) => {
      if (!e || typeof e !== 'object') return;
      known(e.database, ['verify', 'expect', i, 'database']);
      if (e.count === undefined && e.min === undefined && e.max === undefined) add(['verify', 'expect', i], 'give "count", or "min" and/or "max"');
    });
}

/** The whole file. With `env`, names of environment variables are checked against it. */
export function targetsFileSchema(env?: Env) {
  return obj(
    {
      $schema: anyStr('The JSON Schema of this file, for editors: a path relative to the file, e.g. "../deploy/targets.schema.json".').optional(),
      targets: z
        .record(z.string(), target(env), { error: 'expected {"<name>": {...}}' })
        .superRefine(
          (targets, ctx) => {
            if (typeof targets !== 'object' || targets === null) return;
            for (const name of Object.keys(targets))
              if (!TARGET_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `a target name is ${TARGET_NAME_RULE} (it becomes part of a workflow id and a file name)` });
          },
          { when: () => true },
        )
        .describe(`The targets this worker can reset, by name (${TARGET_NAME_RULE}).`),
      groups: z.record(z.string(), group, { error: 'expected {"<group>": ["<target>", ...]}' }).describe('Named groups of targets for fleet resets and schedules.').optional(),
    },
    'top level must be an object {"targets": {"<name>": {...}}}',
  )
    .superRefine(
      (f, ctx) => {
        if (f && typeof f.targets === 'object' && f.targets !== null && Object.keys(f.targets).length === 0)
          ctx.addIssue({ code: 'custom', path: [], message: '"targets" is empty: define at least one target' });
        groupChecks(f, ctx);
      },
      { when: () => true },
    )
    .describe('reset-runbook targets file: the worker reads it from RESET_RUNBOOK_TARGETS. Secrets appear only as names of environment variables.');
}

/** Every group names known targets, each once, and a group's name never shadows a target's (a schedule is named after either). */
function groupChecks(f: unknown, ctx: z.RefinementCtx): void {
  const file = f as { targets?: Record<string, unknown>; groups?: Record<string, unknown> } | undefined;
  if (!file || typeof file.groups !== 'object' || file.groups === null) return;
  const known = new Set(Object.keys(typeof file.targets === 'object' && file.targets ? file.targets : {}));
  for (const [name, g] of Object.entries(file.groups)) {
    if (!TARGET_NAME.test(name)) ctx.addIssue({ code: 'custom', path: ['groups', name], message: `a group name is ${TARGET_NAME_RULE}` });
    if (known.has(name)) ctx.addIssue({ code: 'custom', path: ['groups', name], message: `"${name}" is also a target's name: a group needs a name of its own` });
    const members = Array.isArray(g) ? g : (g as { targets?: unknown })?.targets;
    if (!Array.isArray(members)) continue;
    const seen = new Set<string>();
    members.forEach((t, i) => {
      if (typeof t !== 'string') return;
      const at = Array.isArray(g) ? ['groups', name, i] : ['groups', name, 'targets', i];
      if (!known.has(t)) ctx.addIssue({ code: 'custom', path: at, message: `"${t}" is not a target of this file` });
      if (seen.has(t)) ctx.addIssue({ code: 'custom', path: at, message: `"${t}" is listed twice` });
      seen.add(t);
    });
  }
}

/** The schema as types are derived from it (the environment checks do not change the shapes). */
const shapeOnly = targetsFileSchema();
export type TargetsFileInput = z.input<typeof shapeOnly>;
export type TargetsFileOutput = z.output<typeof shapeOnly>;

/** The published JSON Schema: what a person writes (defaults not required). */
export function targetsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(shapeOnly, { io: 'input', target: 'draft-2020-12' }) as unknown as { properties: { targets: { propertyNames: unknown } } };
  // Target names are checked by a refinement (so a bad name does not hide the problems inside the
  // target); editors get the rule as a pattern.
  schema.properties.targets.propertyNames = { type: 'string', pattern: TARGET_NAME.source };
  const { $schema, ...rest } = schema as unknown as Record<string, unknown>;
  return { $schema, title: 'reset-runbook targets file', ...rest };
}
