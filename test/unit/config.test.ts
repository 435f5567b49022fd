/** The targets file: every mistake is named with its field, before the worker polls anything. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadTargetsFile } from '../../src/config/load';
import { demoTarget } from '../../demo/target';

const ROOT = path.resolve(__dirname, '..', '..');

function write(obj: unknown): string {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rr-config-')), 'targets.json');
  fs.writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return f;
}

function problems(obj: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadTargetsFile(write(obj), env);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
}

test('the production example in deploy/ is valid once its variables are set', () => {
  const loaded = loadTargetsFile(path.join(ROOT, 'deploy', 'targets.example.json'), {
    PRODUCTION_DATABASE_URL: 'postgres://app@db/app_production',
    PRODUCTION_QUEUE_DATABASE_URL: 'postgres://app@db/app_production_queue',
  });
  expect(Object.keys(loaded.targets)).toEqual(['production']);
});

test('the demo target is valid, and relative paths resolve against the file', () => {
  const t = demoTarget({
    urlEnv: 'DEMO_DATABASE_URL',
    bucket: 'b',
    endpoint: 'http://127.0.0.1:1',
    backupDir: 'backups',
    pidFile: '/tmp/x.pid',
  });
  const file = write({ targets: { demo: t } });
  const loaded = loadTargetsFile(file, { DEMO_DATABASE_URL: 'postgres://x@y/z' });
  expect(loaded.targets.demo.backup.dir).toBe(path.join(path.dirname(file), 'backups'));
});

test('a URL written where the variable name belongs is refused, and so is an unset variable', () => {
  const base = { backup: { dir: '/b' } };
  expect(
    problems({ targets: { a: { ...base, database: { urlEnv: 'postgres://u:secret@h/db' } } } }).join('\n'),
  ).toMatch(/targets\.a\.database\.urlEnv: expected the NAME of an environment variable/);
  expect(problems({ targets: { a: { ...base, database: { urlEnv: 'APP_DB' } } } })).toEqual([
    'targets.a.database.urlEnv: environment variable APP_DB is not set on this worker',
  ]);
});

test('every problem is reported at once, each naming its field', () => {
  const p = problems(
    {
      targets: {
        'Bad Name': {
          database: { urlEnv: 'DB' },
          backup: {},
          seeds: { sqlFile: 'a.sql', command: ['x'] },
          strategy: { kind: 'nuke' },
          workers: { stop: 'x', restartBudgetSeconds: 0 },
          storage: { services: { amazon: { bucket: '', endpoint: 'http://key:secret@minio:9000' } } },
          verify: { expect: [{ label: 'Users', table: 'users' }] },
          approval: { timeout: 'soon' },
        },
      },
    },
    { DB: 'postgres://x' },
  );
  const text = p.join('\n');
  for (const needle of [
    'targets.Bad Name: a target name is lower-case',
    'backup.dir: expected a non-empty string',
    'seeds: expected either {"sqlFile"',
    'strategy.kind: expected "replant" or "rebuild"',
    'workers.start: expected a non-empty string',
    'workers.restartBudgetSeconds: expected a number >= 1',
    'storage.services.amazon.bucket: expected a non-empty string',
    'storage.services.amazon.endpoint: must not carry credentials',
    'verify.expect[0]: give "count", or "min" and/or "max"',
    'approval.timeout: expected a duration',
  ]) {
    expect(text).toContain(needle);
  }
});

test('not JSON, or no targets: one clear line', () => {
  expect(problems('{ nope')[0]).toMatch(/^not valid JSON/);
  expect(problems({ targets: {} })).toEqual(['"targets" is empty: define at least one target']);
});

test('settings for materialized views, workers when none alive, restart budget and webhooks are checked', () => {
  const base = { backup: { dir: '/b' } };
  const env = {
    DB: 'postgres://x@y/z',
    HOOK: 'https://hooks.slack.com/services/T0/B0/token',
    NOT_A_URL: 'hooks.slack.com/x',
  };
  const p = problems(
    {
      targets: {
        a: {
          ...base,
          database: { urlEnv: 'DB', refreshMaterializedViews: 'yes' },
          workers: { stop: 'x', start: 'y', whenNoneAliveBefore: 'maybe', restartBudgetSeconds: 0 },
          notify: {
            webhooks: [
              { urlEnv: 'https://hooks.slack.com/services/T0/B0/token' },
              { urlEnv: 'UNSET' },
              { urlEnv: 'NOT_A_URL' },
              { urlEnv: 'HOOK', events: ['done'] },
            ],
          },
        },
        b: { ...base, database: { urlEnv: 'DB' }, notify: { webhooks: 'HOOK' } },
      },
    },
    env,
  );
  expect(p).toEqual([
    'targets.a.database.refreshMaterializedViews: expected true or false',
    'targets.a.workers.restartBudgetSeconds: expected a number >= 1',
    'targets.a.workers.whenNoneAliveBefore: expected "start" or "leave"',
    'targets.a.notify.webhooks[0].urlEnv: expected the NAME of an environment variable holding the webhook URL (never the URL itself)',
    'targets.a.notify.webhooks[1].urlEnv: environment variable UNSET is not set on this worker',
    'targets.a.notify.webhooks[2].urlEnv: environment variable NOT_A_URL does not hold an http(s) URL',
    'targets.a.notify.webhooks[3].events: expected a non-empty list of "waitingForApproval", "approvalReceived", "waitingForOperator", "workersStillStopped", "completed", "failed", "aborted", "rejected" (or leave it out for all)',
    'targets.b.notify: expected {"webhooks": [{"urlEnv": "SLACK_WEBHOOK_URL"}]}',
  ]);
  // A problem never repeats the secret it is about.
  expect(p.join('\n')).not.toContain('token');
  expect(
    problems(
      {
        targets: {
          a: {
            ...base,
            database: { urlEnv: 'DB', refreshMaterializedViews: false },
            workers: { stop: 'x', start: 'y', whenNoneAliveBefore: 'leave', restartBudgetSeconds: 600 },
            notify: { webhooks: [{ urlEnv: 'HOOK', events: ['completed', 'failed'] }] },
          },
        },
      },
      env,
    ),
  ).toEqual([]);
});

test('an S3 backup destination: backup.dir becomes optional, and each of its fields is checked', () => {
  const ok = {
    database: { urlEnv: 'DB' },
    backup: { destination: { kind: 's3', bucket: 'b', prefix: 'p/', serverSideEncryption: 'aws:kms', kmsKeyId: 'k' } },
  };
  expect(problems({ targets: { a: ok } }, { DB: 'postgres://x' })).toEqual([]);
  const bad = {
    database: { urlEnv: 'DB' },
    backup: {
      destination: {
        kind: 's3',
        bucket: '',
        endpoint: 'http://key:secret@minio:9000',
        serverSideEncryption: 'DES',
        kmsKeyId: 'k',
        forcePathStyle: 'yes',
      },
    },
  };
  const text = problems({ targets: { a: bad } }, { DB: 'postgres://x' }).join('\n');
  for (const needle of [
    'backup.destination.bucket: expected a non-empty string',
    'backup.destination.endpoint: must not carry credentials',
    'backup.destination.serverSideEncryption: expected "AES256" or "aws:kms"',
    'backup.destination.kmsKeyId: only with serverSideEncryption "aws:kms"',
    'backup.destination.forcePathStyle: expected true or false',
  ])
    expect(text).toContain(needle);
  expect(text).not.toContain('backup.dir');
  expect(
    problems(
      { targets: { a: { database: { urlEnv: 'DB' }, backup: { destination: { kind: 'ftp' } } } } },
      { DB: 'postgres://x' },
    ).join('\n'),
  ).toMatch(/backup.destination: expected \{"kind": "s3"/);
});

test('secretEnv names variables, never values', () => {
  const base = { backup: { dir: '/b' }, database: { urlEnv: 'APP_DB' } };
  const env = { APP_DB: 'postgres://x@y/z' };
  expect(problems({ targets: { a: { ...base, secretEnv: ['STRIPE_KEY'] } } }, env)).toEqual([]);
  expect(problems({ targets: { a: { ...base, secretEnv: ['sk_live_abc=1'] } } }, env)).toEqual([
    'targets.a.secretEnv: expected a list of environment variable NAMES, e.g. ["STRIPE_KEY"] (never the values)',
  ]);
  expect(problems({ targets: { a: { ...base, secretEnv: 'STRIPE_KEY' } } }, env)).toHaveLength(1);
});

// ---- the file is defined once (src/config/schema.ts) ----

const minimal = { database: { urlEnv: 'DB' }, backup: { dir: '/b' } };
const DB_ENV = { DB: 'postgres://x@y/z' };

test('unknown fields are refused where they are, each named with its path (a typo must not fall back to a default)', () => {
  const p = problems(
    {
      targtes: {},
      targets: {
        shop: {
          ...minimal,
          workers: { stop: 'x', start: 'y', stopTimeoutSecond: 5 },
          timing: { heartbeatTimeout: 5 },
          storage: { services: { amazon: { bucket: 'b', purgeOnly: true } } },
        },
      },
    },
    DB_ENV,
  );
  expect(p).toEqual([
    expect.stringMatching(
      /^targets\.shop\.workers\.stopTimeoutSecond: unknown field \(known fields here: .*stopTimeoutSeconds/,
    ),
    expect.stringMatching(
      /^targets\.shop\.storage\.services\.amazon\.purgeOnly: unknown field \(known fields here: kind, bucket, prefix, region, endpoint, forcePathStyle, purge\)$/,
    ),
    expect.stringMatching(
      /^targets\.shop\.timing\.heartbeatTimeout: unknown field \(known fields here: heartbeatTimeoutSeconds, maximumAttempts, lockTimeoutSeconds\)$/,
    ),
    'targtes: unknown field (known fields here: $schema, targets, groups)',
  ]);
});

test('a URL where an env-variable name belongs is refused without repeating it, in every place that takes a name', () => {
  const url = 'postgres://app:hunter2-secret@db1.internal/app_production';
  const hook = 'https://hooks.slack.com/services/T0/B0/xoxb-secret-token';
  const p = problems(
    {
      targets: {
        shop: {
          ...minimal,
          database: { urlEnv: url },
          extraDatabases: [{ name: 'queue', urlEnv: url }],
          secretEnv: [url],
          notify: { webhooks: [{ urlEnv: hook }] },
        },
      },
    },
    DB_ENV,
  );
  expect(p).toEqual([
    'targets.shop.database.urlEnv: expected the NAME of an environment variable holding the database URL (never the URL itself)',
    'targets.shop.secretEnv: expected a list of environment variable NAMES, e.g. ["STRIPE_KEY"] (never the values)',
    'targets.shop.extraDatabases[0].urlEnv: expected the NAME of an environment variable holding the database URL (never the URL itself)',
    'targets.shop.notify.webhooks[0].urlEnv: expected the NAME of an environment variable holding the webhook URL (never the URL itself)',
  ]);
  // Neither the message list nor the error's text carries any part of a secret.
  let text = '';
  try {
    loadTargetsFile(
      write({ targets: { shop: { ...minimal, database: { urlEnv: url }, notify: { webhooks: [{ urlEnv: hook }] } } } }),
      DB_ENV,
    );
  } catch (e) {
    text = `${(e as Error).message}\n${JSON.stringify(e)}`;
  }
  expect(text).toContain('urlEnv');
  for (const s of ['hunter2', 'db1.internal', 'xoxb', 'hooks.slack.com']) expect(text).not.toContain(s);
});

test('defaults are filled once, at load: the loaded config carries every setting', () => {
  const t = loadTargetsFile(
    write({
      $schema: '../deploy/targets.schema.json',
      targets: {
        shop: {
          ...minimal,
          workers: { stop: 'x', start: 'y' },
          storage: { services: { amazon: { bucket: 'b' } } },
          seeds: { sqlFile: '/s.sql' },
        },
      },
    }),
    DB_ENV,
  ).targets.shop;
  expect(t.workers).toMatchObject({
    database: 'primary',
    heartbeatThresholdSeconds: 300,
    stopTimeoutSeconds: 120,
    startTimeoutSeconds: 120,
    restartBudgetSeconds: 300,
    whenNoneAliveBefore: 'start',
  });
  expect(t.timing).toEqual({ heartbeatTimeoutSeconds: 30, maximumAttempts: 3, lockTimeoutSeconds: 10 });
  expect(t.approval).toEqual({ required: false, allowSelfApproval: true, timeout: '24h' });
  expect(t.backup).toMatchObject({ keep: 5, maxAgeMinutes: 60 });
  expect(t.database.refreshMaterializedViews).toBe(true);
  expect(t.restartIdentity).toBe(false);
  expect(t.strategy).toEqual({ kind: 'replant' });
  expect(t.seeds).toEqual({ sqlFile: '/s.sql', database: 'primary' });
  expect(t.storage).toMatchObject({
    pageSize: 1000,
    concurrency: 4,
    sampleSize: 100,
    services: { amazon: { kind: 's3', bucket: 'b', purge: true } },
  });
  expect(t.plan).toEqual({ exactCounts: false, estimateAboveRows: 100_000 });
  // Values that are given are kept.
  const given = loadTargetsFile(
    write({
      targets: {
        shop: { ...minimal, timing: { maximumAttempts: 7 }, workers: { stop: 'x', start: 'y', stopTimeoutSeconds: 9 } },
      },
    }),
    DB_ENV,
  ).targets.shop;
  expect(given.timing).toEqual({ heartbeatTimeoutSeconds: 30, maximumAttempts: 7, lockTimeoutSeconds: 10 });
  expect(given.workers?.stopTimeoutSeconds).toBe(9);
});

test('a Disk service: its root resolves against the file, and it is checked like any service', () => {
  const file = write({
    targets: {
      shop: {
        ...minimal,
        storage: {
          services: {
            local: { kind: 'disk', root: 'storage' },
            archive: { kind: 'disk', root: '/srv/archive', purge: false },
          },
        },
      },
    },
  });
  const services = loadTargetsFile(file, DB_ENV).targets.shop.storage!.services;
  expect(services.local).toEqual({ kind: 'disk', root: path.join(path.dirname(file), 'storage'), purge: true });
  expect(services.archive).toEqual({ kind: 'disk', root: '/srv/archive', purge: false });
  expect(
    problems(
      {
        targets: {
          shop: {
            ...minimal,
            storage: {
              services: {
                local: { kind: 'disk' },
                nas: { kind: 'disk', root: '/x', bucket: 'b' },
                odd: { kind: 'ftp' },
                s3: { bucket: 'b', purge: 'no' },
              },
            },
          },
        },
      },
      DB_ENV,
    ),
  ).toEqual([
    'targets.shop.storage.services.local.root: expected a non-empty string',
    'targets.shop.storage.services.nas.bucket: unknown field (known fields here: kind, root, purge)',
    'targets.shop.storage.services.odd: expected {"bucket": "..."} (S3) or {"kind": "disk", "root": "..."}',
    'targets.shop.storage.services.s3.purge: expected true or false',
  ]);
});

test('storage.quarantine: Disk-only targets need no bucket, S3 services do; diskFolder stays inside the root', () => {
  const disk = { services: { local: { kind: 'disk', root: '/srv/storage' } } };
  const loaded = loadTargetsFile(
    write({ targets: { shop: { ...minimal, storage: { ...disk, quarantine: {} } } } }),
    DB_ENV,
  );
  expect(loaded.targets.shop.storage!.quarantine).toEqual({
    prefix: 'reset-quarantine/',
    diskFolder: '.reset-quarantine',
  });
  expect(
    problems(
      {
        targets: {
          shop: {
            ...minimal,
            storage: {
              services: { ...disk.services, amazon: { bucket: 'b' } },
              quarantine: { diskFolder: '../elsewhere' },
            },
          },
        },
      },
      DB_ENV,
    ),
  ).toEqual([
    'targets.shop.storage.quarantine.diskFolder: expected a folder name relative to the Disk service root, e.g. ".reset-quarantine" (no "..", not absolute)',
    'targets.shop.storage.quarantine.bucket: required: service "amazon" is on S3, and its objects are copied to this bucket',
  ]);
  expect(
    problems({ targets: { shop: { ...minimal, storage: { ...disk, quarantine: { diskFolder: '/abs' } } } } }, DB_ENV),
  ).toHaveLength(1);
});

test('purge and plan settings: storage.concurrency, pageSize, sampleSize and plan counts are bounded whole numbers', () => {
  const storage = (o: object) => ({
    targets: { shop: { ...minimal, storage: { services: { amazon: { bucket: 'b' } }, ...o } } },
  });
  expect(problems(storage({ concurrency: 32, pageSize: 1, sampleSize: 0 }), DB_ENV)).toEqual([]);
  expect(problems(storage({ concurrency: 0, pageSize: 1001, sampleSize: 2.5 }), DB_ENV)).toEqual([
    'targets.shop.storage.pageSize: expected a whole number from 1 to 1000',
    'targets.shop.storage.concurrency: expected a whole number from 1 to 32',
    'targets.shop.storage.sampleSize: expected a whole number from 0 to 1000',
  ]);
  expect(problems(storage({ concurrency: 33 }), DB_ENV)).toEqual([
    'targets.shop.storage.concurrency: expected a whole number from 1 to 32',
  ]);
  expect(
    problems({ targets: { shop: { ...minimal, plan: { exactCounts: 'yes', estimateAboveRows: -1 } } } }, DB_ENV),
  ).toEqual([
    'targets.shop.plan.exactCounts: expected true or false',
    'targets.shop.plan.estimateAboveRows: expected a whole number >= 0',
  ]);
  const t = loadTargetsFile(
    write({ targets: { shop: { ...minimal, plan: { exactCounts: true, estimateAboveRows: 0 } } } }),
    DB_ENV,
  ).targets.shop;
  expect(t.plan).toEqual({ exactCounts: true, estimateAboveRows: 0 });
});

test('cross-field checks still run beside field errors: database names, and "$schema" must be a string', () => {
  expect(
    problems(
      {
        $schema: 5,
        targets: {
          shop: {
            ...minimal,
            extraDatabases: [{ name: 'primary', urlEnv: 'DB' }],
            workers: { stop: 'x', start: 'y', database: 'cache' },
            timing: { maximumAttempts: 0 },
          },
        },
      },
      DB_ENV,
    ),
  ).toEqual([
    '$schema: expected a string',
    'targets.shop.timing.maximumAttempts: expected a number >= 1',
    'targets.shop.extraDatabases[0].name: "primary" is used twice (or is the reserved "primary")',
    'targets.shop.workers.database: "cache" is not one of primary',
  ]);
});

test('a seeds or strategy alternative that was evidently meant gets its own field problems', () => {
  expect(
    problems(
      {
        targets: {
          shop: {
            ...minimal,
            seeds: { command: 'bin/rails db:seed', timeoutSeconds: 0 },
            strategy: { kind: 'rebuild' },
          },
        },
      },
      DB_ENV,
    ),
  ).toEqual([
    'targets.shop.seeds.command: expected a command as a list of strings, e.g. ["bin/rails", "db:seed"]',
    'targets.shop.seeds.timeoutSeconds: expected a number >= 1',
    'targets.shop.strategy.command: expected a command as a list of strings, e.g. ["bin/rails", "db:seed"]',
  ]);
  expect(problems({ targets: { shop: { ...minimal, seeds: {} } } }, DB_ENV)).toEqual([
    'targets.shop.seeds: expected either {"sqlFile": "..."} or {"command": [...]}',
  ]);
});

test('groups and schedules: members are known targets, each once; a group never shares a target name; cron and jitter are checked', () => {
  const t = (extra: Record<string, unknown> = {}) => ({
    ...demoTarget({
      urlEnv: 'DEMO_DATABASE_URL',
      bucket: 'b',
      endpoint: 'http://127.0.0.1:1',
      backupDir: '/tmp/b',
      pidFile: '/tmp/x.pid',
    }),
    ...extra,
  });
  const env = { DEMO_DATABASE_URL: 'postgres://x@y/z' };
  const file = write({
    targets: { a: t({ schedule: { cron: '0 5 * * *', timezone: 'Europe/Berlin', jitter: '5m' } }), b: t() },
    groups: {
      staging: ['a', 'b'],
      demo: {
        targets: ['b'],
        maxConcurrent: '50%',
        batches: [1, '100%'],
        schedule: { cron: '*/30 * * * *', pauseOnFailure: true },
      },
    },
  });
  const loaded = loadTargetsFile(file, env);
  expect(loaded.groups).toEqual({
    staging: { targets: ['a', 'b'] },
    demo: {
      targets: ['b'],
      maxConcurrent: '50%',
      batches: [1, '100%'],
      schedule: { cron: '*/30 * * * *', pauseOnFailure: true },
    },
  });
  expect(loaded.targets.a.schedule).toEqual({
    cron: '0 5 * * *',
    timezone: 'Europe/Berlin',
    jitter: '5m',
    pauseOnFailure: false,
  });
  expect(
    problems(
      {
        targets: { a: t({ schedule: { cron: 'every day', jitter: 'soon' } }), b: t() },
        groups: { a: ['b'], twice: ['a', 'a'], ghost: { targets: ['nope'], maxFailures: 'half' } },
      },
      env,
    ),
  ).toEqual([
    expect.stringMatching(/^targets\.a\.schedule\.cron: expected a cron expression of five fields/),
    expect.stringMatching(/^targets\.a\.schedule\.jitter: expected a duration/),
    expect.stringMatching(/^groups\.ghost/),
    'groups.a: "a" is also a target\'s name: a group needs a name of its own',
    'groups.twice[1]: "a" is listed twice',
    'groups.ghost.targets[0]: "nope" is not a target of this file',
  ]);
});
