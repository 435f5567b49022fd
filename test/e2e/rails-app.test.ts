/**
 * A real Rails application (test/rails-app: Debian's Rails 6.1, ActiveStorage on the stack's S3 server)
 * reset by the runbook with the seed command `bin/rails db:seed` ends where Rails' own
 * `bin/rails db:seed:replant` ends on a copy of the same database: every table's rows, every sequence,
 * and no object of a dropped blob left in the bucket while the new seeded blob's object is there.
 *
 * Real Temporal, PostgreSQL, S3 (moto), pg_dump and a worker process; workers (Solid Queue) are not
 * configured, the app has none. Rails boots four times (a few seconds each).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { abortSignal, approveSignal, progressQuery, resetWorkflowId, type ResetResult } from '../../src/contract';
import type { productionDataReset } from '../../src/workflows';
import type { TargetConfigInput as TargetConfig } from '../../src/config/types';
import { REPO_ROOT, temporalAddress, workflowBundlePath } from '../support/temporal';
import { databaseState, rails, RAILS_APP, type RailsEnv } from '../support/rails-app';
import { serverHistoryText } from '../support/history-text';

const id = randomBytes(4).toString('hex');
const target = `rails-${id}`;
const taskQueue = `reset-runbook-rails-${id}`;
const bucket = `rails-e2e-${id}`;
const orphanKey = 'uploads-outside-active-storage/left-alone.txt';
/** In the database URLs and SECRET_KEY_BASE: grepped for in the run's history, result and worker log. */
const secret = `pw-${randomBytes(6).toString('hex')}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rr-rails-${id}-`));

let s3: S3Client;
let worker: ChildProcess | undefined;
let connection: Connection | undefined;
const dbA = `rr_rails_${id}_a`;
const dbB = `rr_rails_${id}_b`;

function dbUrl(name: string): string {
  const u = new URL(process.env.RR_PG_ADMIN_URL!);
  u.password = secret; // the stack's cluster trusts loopback: ignored by the server, not by the greps
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin(sql: string): Promise<void> {
  const c = new PgClient({ connectionString: process.env.RR_PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new PgClient({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

async function bucketKeys(): Promise<Set<string>> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return new Set((r.Contents ?? []).map((o) => o.Key!));
}

function railsEnv(url: string): RailsEnv {
  return {
    DATABASE_URL: url,
    SECRET_KEY_BASE: `skb-${secret}`,
    S3_BUCKET: bucket,
    S3_ENDPOINT: process.env.RR_S3_ENDPOINT!,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID!,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY!,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  };
}

/** The target as docs/operators/rails-example.md's worked example writes it, pointed at this test's app and stack. */
function targetConfig(): TargetConfig {
  return {
    database: { urlEnv: 'RAILS_E2E_DATABASE_URL' },
    secretEnv: ['RAILS_E2E_SECRET_KEY_BASE'],
    restartIdentity: false,
    seeds: {
      command: ['bin/rails', 'db:seed'],
      cwd: RAILS_APP,
      env: {
        RAILS_ENV: 'production',
        DATABASE_URL: '${RAILS_E2E_DATABASE_URL}',
        SECRET_KEY_BASE: '${RAILS_E2E_SECRET_KEY_BASE}',
        S3_BUCKET: bucket,
        S3_ENDPOINT: process.env.RR_S3_ENDPOINT!,
        AWS_ACCESS_KEY_ID: '${AWS_ACCESS_KEY_ID}',
        AWS_SECRET_ACCESS_KEY: '${AWS_SECRET_ACCESS_KEY}',
        AWS_REGION: '${AWS_REGION}',
      },
      timeoutSeconds: 300,
    },
    storage: {
      services: {
        amazon: { bucket, endpoint: process.env.RR_S3_ENDPOINT!, forcePathStyle: true, region: 'us-east-1' },
      },
    },
    backup: { dir: path.join(dir, 'backups'), keep: 2, maxAgeMinutes: 60 },
    verify: {
      expect: [
        { label: 'Accounts', table: 'accounts', count: 2 },
        { label: 'Categories', table: 'categories', count: 3 },
        { label: 'Projects', table: 'projects', count: 0 },
        { label: 'Documents', table: 'documents', count: 0 },
        { label: 'Blobs', table: 'active_storage_blobs', count: 1 },
      ],
    },
    timing: { heartbeatTimeoutSeconds: 10, maximumAttempts: 1, lockTimeoutSeconds: 5 },
  };
}

async function startWorker(): Promise<() => string> {
  const targetsFile = path.join(dir, 'targets.json');
  fs.writeFileSync(targetsFile, JSON.stringify({ targets: { [target]: targetConfig() } }, null, 2));
  const logFile = path.join(dir, 'worker.log');
  const out = fs.openSync(logFile, 'a');
  worker = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(REPO_ROOT, 'src', 'worker.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      RESET_RUNBOOK_TARGETS: targetsFile,
      RR_TASK_QUEUE: taskQueue,
      RR_WORKFLOW_BUNDLE: await workflowBundlePath(),
      RAILS_E2E_DATABASE_URL: dbUrl(dbA),
      RAILS_E2E_SECRET_KEY_BASE: `skb-${secret}`,
    },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const log = () => fs.readFileSync(logFile, 'utf8');
  const deadline = Date.now() + 60_000;
  while (!log().includes('reset-runbook worker: task queue')) {
    if (worker.exitCode !== null || worker.signalCode !== null) throw new Error(`worker exited at start:\n${log()}`);
    if (Date.now() > deadline) throw new Error(`worker did not start in 60 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return log;
}

/**
 * Approves when the run asks (production always asks); a step that fails its retries makes the run
 * wait for an operator: abort it then, and fail with the step's error rather than at the time-out.
 */
async function approveAndFinish(h: WorkflowHandle<typeof productionDataReset>, database: string): Promise<ResetResult> {
  let approved = false;
  for (;;) {
    const p = await h.query(progressQuery);
    if (p.phase === 'awaiting-approval' && !approved) {
      await h.signal(approveSignal, { confirmation: database, by: 'jest' });
      approved = true;
    } else if (p.phase === 'waiting-for-operator') {
      await h.signal(abortSignal, { by: 'jest', reason: 'test failed' });
      await h.result().catch(() => undefined);
      throw new Error(`step ${p.waiting?.step} failed: ${p.waiting?.error}`);
    } else if (['completed', 'failed', 'aborted', 'cancelled'].includes(p.phase)) {
      return h.result().catch((e: Error) => {
        throw new Error(`the run failed: ${e.message}: ${(e.cause as Error | undefined)?.message}`);
      });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(() => {
  // Debian's ruby-rails, ruby-pg, ruby-aws-sdk-s3 (scripts/test installs them first; this is for a lone run).
  execFileSync(path.join(REPO_ROOT, 'scripts', 'install-rails'), {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 600_000,
  });
  s3 = new S3Client({
    endpoint: process.env.RR_S3_ENDPOINT,
    forcePathStyle: true,
    region: process.env.AWS_REGION ?? 'us-east-1',
  });
}, 600_000);

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGKILL');
    await exited;
  }
  await connection?.close().catch(() => undefined);
  for (const db of [dbA, dbB]) await admin(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => undefined);
  const keys = await bucketKeys().catch(() => new Set<string>());
  if (keys.size)
    await s3
      .send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [...keys].map((Key) => ({ Key })) } }))
      .catch(() => undefined);
  s3?.destroy();
  if (!process.env.RR_KEEP_TEST_FILES) fs.rmSync(dir, { recursive: true, force: true });
});

test('bin/rails db:seed through the runbook ends where db:seed:replant ends on a copy: every row, every sequence, no dropped blob left', async () => {
  // A production database made by the app itself, with seeds, then a user's worth of data: records with
  // attached files in the bucket, uploads never attached, a file purged again; and a file of the bucket
  // that no blob knows (written outside ActiveStorage), which a reset must leave alone.
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: orphanKey, Body: 'not a blob\n' }));
  await admin(`CREATE DATABASE "${dbA}"`);
  const workerLogStart = startWorker(); // boots while Rails does
  await rails(['db:schema:load', 'db:seed'], railsEnv(dbUrl(dbA)));
  const generated = JSON.parse(
    (await rails(['runner', 'db/generate.rb', '3'], railsEnv(dbUrl(dbA)))).trim().split('\n').pop()!,
  );
  expect(generated).toEqual({ accounts: 5, documents: 6, blobs: 11, attachments: 9 });
  const blobsBefore = (await query<{ key: string }>(dbUrl(dbA), 'SELECT key FROM active_storage_blobs')).map(
    (r) => r.key,
  );
  expect(blobsBefore).toHaveLength(11);
  // Every blob's object is in the bucket (the purged file's is not), beside the orphan.
  expect(await bucketKeys()).toEqual(new Set([...blobsBefore, orphanKey]));
  const maxAccountIdBefore = Number((await query<{ m: string }>(dbUrl(dbA), 'SELECT max(id) AS m FROM accounts'))[0].m);

  // B: the same database, byte for byte, before either reset.
  await admin(`CREATE DATABASE "${dbB}" TEMPLATE "${dbA}"`);

  // A: reset by the runbook through a real worker, approved as production requires.
  const workerLog = await workerLogStart;
  connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection });
  const h = await client.workflow.start<typeof productionDataReset>('productionDataReset', {
    taskQueue,
    workflowId: resetWorkflowId(target),
    args: [{ target, mode: 'execute', reason: 'e2e: a real Rails app' }],
  });
  const r = await approveAndFinish(h, dbA);
  if (r.outcome !== 'completed') throw new Error(`the run ended ${r.outcome} (${r.endReason}): ${r.message}`);
  expect(r.verify?.report).toBe(['Accounts: 2', 'Categories: 3', 'Projects: 0', 'Documents: 0', 'Blobs: 1'].join('\n'));

  // The bucket after the runbook: every dropped blob's object deleted, the seeded blob's object there, the orphan kept.
  const seededA = await query<{ key: string }>(dbUrl(dbA), 'SELECT key FROM active_storage_blobs');
  expect(seededA).toHaveLength(1);
  expect(blobsBefore).not.toContain(seededA[0].key);
  expect(await bucketKeys()).toEqual(new Set([seededA[0].key, orphanKey]));
  expect(r.objectsDeleted?.count).toBe(blobsBefore.length);

  // B: what Rails itself does (production refuses db:truncate_all without the override: that
  // protection is what the runbook's approval replaces).
  await rails(['db:seed:replant'], { ...railsEnv(dbUrl(dbB)), DISABLE_DATABASE_ENVIRONMENT_CHECK: '1' });

  // The two end states: every table's rows (ids, foreign keys, polymorphic attachments, blob
  // checksums and metadata; not the seeds' timestamps or the random blob key) and every sequence.
  const [a, b] = [await databaseState(dbUrl(dbA)), await databaseState(dbUrl(dbB))];
  expect(Object.keys(a.tables)).toEqual([
    'accounts',
    'active_storage_attachments',
    'active_storage_blobs',
    'active_storage_variant_records',
    'ar_internal_metadata',
    'categories',
    'documents',
    'projects',
    'schema_migrations',
  ]);
  expect(a).toEqual(b);
  // Not equal by being empty: the seeds' rows are there, with ids that kept counting (no RESTART IDENTITY).
  expect(a.tables.accounts).toHaveLength(2);
  expect(a.tables.active_storage_attachments).toHaveLength(1);
  const accountIds = (await query<{ id: string }>(dbUrl(dbA), 'SELECT id FROM accounts')).map((row) => Number(row.id));
  expect(Math.min(...accountIds)).toBeGreaterThan(maxAccountIdBefore);
  expect(Number(a.sequences.accounts_id_seq)).toBe(Math.max(...accountIds));

  // Rails' replant leaves the dropped blobs' objects behind; the runbook had already deleted them, so
  // the bucket holds exactly the two seeded avatars and the orphan.
  const seededB = await query<{ key: string }>(dbUrl(dbB), 'SELECT key FROM active_storage_blobs');
  expect(await bucketKeys()).toEqual(new Set([seededA[0].key, seededB[0].key, orphanKey]));

  // No secret in the run's history, its result or the worker's log.
  const history = serverHistoryText(h.workflowId);
  expect(history).toContain(dbA); // a control: the grep does see what the run carries in clear
  for (const text of [history, JSON.stringify(r), workerLog()]) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain('postgres://');
  }
}, 240_000);
