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
  const t = demoTarget({ urlEnv: 'DEMO_DATABASE_URL', bucket: 'b', endpoint: 'http://127.0.0.1:1', backupDir: 'backups', pidFile: '/tmp/x.pid' });
  const file = write({ targets: { demo: t } });
  const loaded = loadTargetsFile(file, { DEMO_DATABASE_URL: 'postgres://x@y/z' });
  expect(loaded.targets.demo.backup.dir).toBe(path.join(path.dirname(file), 'backups'));
});

test('a URL written where the variable name belongs is refused, and so is an unset variable', () => {
  const base = { backup: { dir: '/b' } };
  expect(problems({ targets: { a: { ...base, database: { urlEnv: 'postgres://u:secret@h/db' } } } }).join('\n')).toMatch(/targets\.a\.database\.urlEnv: expected the NAME of an environment variable/);
  expect(problems({ targets: { a: { ...base, database: { urlEnv: 'APP_DB' } } } })).toEqual(['targets.a.database.urlEnv: environment variable APP_DB is not set on this worker']);
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

test('issue 7 settings: materialized views, workers when none alive, restart budget and webhooks are checked', () => {
  const base = { backup: { dir: '/b' } };
  const env = { DB: 'postgres://x@y/z', HOOK: 'https://hooks.slack.com/services/T0/B0/token', NOT_A_URL: 'hooks.slack.com/x' };
  const p = problems(
    {
      targets: {
        a: {
          ...base,
          database: { urlEnv: 'DB', refreshMaterializedViews: 'yes' },
          workers: { stop: 'x', start: 'y', whenNoneAliveBefore: 'maybe', restartBudgetSeconds: 0 },
          notify: { webhooks: [{ urlEnv: 'https://hooks.slack.com/services/T0/B0/token' }, { urlEnv: 'UNSET' }, { urlEnv: 'NOT_A_URL' }, { urlEnv: 'HOOK', events: ['done'] }] },
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
    'targets.a.notify.webhooks[3].events: expected a non-empty list of "waitingForApproval", "waitingForOperator", "workersStillStopped", "completed", "failed", "aborted" (or leave it out for all)',
    'targets.b.notify: expected {"webhooks": [{"urlEnv": "SLACK_WEBHOOK_URL"}]}',
  ]);
  // A problem never repeats the secret it is about.
  expect(p.join('\n')).not.toContain('token');
  expect(
    problems({ targets: { a: { ...base, database: { urlEnv: 'DB', refreshMaterializedViews: false }, workers: { stop: 'x', start: 'y', whenNoneAliveBefore: 'leave', restartBudgetSeconds: 600 }, notify: { webhooks: [{ urlEnv: 'HOOK', events: ['completed', 'failed'] }] } } } }, env),
  ).toEqual([]);
});

test('an S3 backup destination: backup.dir becomes optional, and each of its fields is checked', () => {
  const ok = { database: { urlEnv: 'DB' }, backup: { destination: { kind: 's3', bucket: 'b', prefix: 'p/', serverSideEncryption: 'aws:kms', kmsKeyId: 'k' } } };
  expect(problems({ targets: { a: ok } }, { DB: 'postgres://x' })).toEqual([]);
  const bad = {
    database: { urlEnv: 'DB' },
    backup: { destination: { kind: 's3', bucket: '', endpoint: 'http://key:secret@minio:9000', serverSideEncryption: 'DES', kmsKeyId: 'k', forcePathStyle: 'yes' } },
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
  expect(problems({ targets: { a: { database: { urlEnv: 'DB' }, backup: { destination: { kind: 'ftp' } } } } }, { DB: 'postgres://x' }).join('\n')).toMatch(
    /backup.destination: expected \{"kind": "s3"/,
  );
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
