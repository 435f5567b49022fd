/**
 * The demo app's schema, seeds and generator, on the stack's real PostgreSQL and S3 (no mocks).
 * Each test makes its own databases and bucket and drops them afterwards.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { Client } from 'pg';
import { DeleteBucketCommand, DeleteObjectsCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  countAll,
  ensureDatabase,
  generate,
  GenerateReport,
  load,
  loadSchema,
  orphanKeys,
  otherAppKeys,
  seed,
  tableChecksums,
} from '../../demo/generate';
import { dropDatabase } from '../../demo/lib/db';
import { listKeys, md5Base64, s3Client } from '../../demo/lib/objects';
import { databaseUrl, s3Endpoint, uniqueName } from './env';

const REPO = path.resolve(__dirname, '..', '..');
const SEED_TABLES = ['users', 'phone_models', 'system_settings'];
const CLOCK_COLUMNS = ['created_at', 'updated_at'];

const databases: string[] = [];
const buckets: string[] = [];
let s3: S3Client;

function newDatabase(prefix = 'demo_schema'): string {
  const url = databaseUrl(uniqueName(prefix));
  databases.push(url);
  return url;
}
function newBucket(): string {
  const b = uniqueName('demo-schema', '-');
  buckets.push(b);
  return b;
}

async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Checksums of every table; seed tables and ar_internal_metadata without their clock columns. */
async function checksums(url: string): Promise<Record<string, string>> {
  const all = await tableChecksums(url);
  const clockless = await tableChecksums(url, {
    tables: [...SEED_TABLES, 'ar_internal_metadata'],
    exclude: CLOCK_COLUMNS,
  });
  return { ...all, ...clockless };
}

beforeAll(() => {
  s3 = s3Client({ bucket: 'unused', endpoint: s3Endpoint() });
});

afterAll(async () => {
  for (const url of databases) await dropDatabase(url).catch(() => undefined);
  for (const bucket of buckets) {
    const keys = await listKeys(s3, bucket).catch(() => [] as string[]);
    for (let i = 0; i < keys.length; i += 1000) {
      await s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) },
        }),
      );
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
  }
  s3?.destroy();
});

describe('schema and seeds', () => {
  test('load into a new database; the runbook expectations hold after seeding', async () => {
    const url = newDatabase();
    expect(await ensureDatabase(url)).toBe(true);
    expect(await loadSchema(url)).toEqual({ appSchema: 'loaded', queueSchema: 'loaded' });
    expect(await loadSchema(url)).toEqual({ appSchema: 'present', queueSchema: 'present' });
    await seed(url);
    const counts = await countAll(url);
    expect(counts).toMatchObject({
      users: 6,
      phone_models: 10,
      system_settings: 1,
      customers: 0,
      loans: 0,
      solid_queue_jobs: 0,
    });
    // 3 app tables kept + 12 wiped + 3 ActiveStorage + 11 Solid Queue + schema_migrations + ar_internal_metadata.
    const tables = Object.keys(counts);
    expect(tables.filter((t) => t.startsWith('solid_queue_'))).toHaveLength(11);
    expect(tables).toHaveLength(31);
    const roles = await query<{ role: string; n: number }>(
      url,
      'SELECT role, count(*)::int AS n FROM users GROUP BY role ORDER BY role',
    );
    expect(roles).toEqual([
      { role: 'admin', n: 3 },
      { role: 'master', n: 1 },
      { role: 'supervisor', n: 1 },
      { role: 'vendedor', n: 1 },
    ]);
    expect(await query(url, `SELECT value FROM ar_internal_metadata WHERE key = 'environment'`)).toEqual([
      { value: 'production' },
    ]);
    // Rails' own foreign keys: the six executions cascade from jobs; attachments/variants reference blobs.
    const fks = await query<{ conrelid: string; confdeltype: string }>(
      url,
      `SELECT conrelid::regclass::text AS conrelid, confdeltype FROM pg_constraint
       WHERE contype = 'f' AND confrelid = 'solid_queue_jobs'::regclass ORDER BY 1`,
    );
    expect(fks.map((f) => f.conrelid)).toEqual([
      'solid_queue_blocked_executions',
      'solid_queue_claimed_executions',
      'solid_queue_failed_executions',
      'solid_queue_ready_executions',
      'solid_queue_recurring_executions',
      'solid_queue_scheduled_executions',
    ]);
    expect(fks.every((f) => f.confdeltype === 'c')).toBe(true);
  });

  test('seeding twice changes nothing: counts, rows, identity sequences', async () => {
    const url = newDatabase();
    await ensureDatabase(url);
    await loadSchema(url);
    await seed(url);
    const sequences = () =>
      query(
        url,
        `SELECT sequencename, last_value FROM pg_sequences WHERE sequencename IN ('users_id_seq','phone_models_id_seq','system_settings_id_seq') ORDER BY 1`,
      );
    const before = { counts: await countAll(url), sums: await tableChecksums(url), seqs: await sequences() };
    await seed(url);
    expect({ counts: await countAll(url), sums: await tableChecksums(url), seqs: await sequences() }).toEqual(before);
  });

  test('demo/bin/seed seeds $DATABASE_URL, and fails loudly when told to', async () => {
    const url = newDatabase();
    await ensureDatabase(url);
    await loadSchema(url);
    const run = (env: Record<string, string>) =>
      spawnSync(path.join(REPO, 'demo', 'bin', 'seed'), {
        env: { ...process.env, DATABASE_URL: url, ...env },
        encoding: 'utf8',
      });
    const failing = run({ DEMO_SEED_FAIL: '1' });
    expect(failing.status).not.toBe(0);
    expect(failing.stderr).toMatch(/DEMO_SEED_FAIL/);
    expect((await countAll(url)).users).toBe(0);
    const ok = run({ DEMO_SEED_FAIL: '' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect((await countAll(url)).users).toBe(6);
    const broken = spawnSync(path.join(REPO, 'demo', 'bin', 'seed'), {
      env: { ...process.env, DATABASE_URL: databaseUrl('demo_no_such_database') },
      encoding: 'utf8',
    });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/does not exist/);
  });
});

describe('generator', () => {
  let url: string;
  let bucket: string;
  let report: GenerateReport;

  beforeAll(async () => {
    url = newDatabase('demo_gen');
    bucket = newBucket();
    report = (await load({ databaseUrl: url, seed: 7, storage: { bucket, endpoint: s3Endpoint() } }))!;
  });

  test('makes exactly the rows it reports, in every table', async () => {
    const counts = await countAll(url);
    for (const [table, n] of Object.entries(report.rows)) expect([table, counts[table]]).toEqual([table, n]);
    // Every table the generator did not write holds only what schema + seeds put there.
    const untouched = Object.keys(counts).filter((t) => !(t in report.rows));
    expect(untouched.sort()).toEqual([
      'ar_internal_metadata',
      'phone_models',
      'schema_migrations',
      'solid_queue_pauses',
      'system_settings',
      'users',
    ]);
    expect(report.totalRows).toBeGreaterThan(300);
    expect(report.totalRows).toBeLessThan(2000);
    // Jobs in every state.
    const states = await query<Record<string, number>>(
      url,
      `SELECT (SELECT count(*)::int FROM solid_queue_ready_executions) AS ready,
              (SELECT count(*)::int FROM solid_queue_claimed_executions c JOIN solid_queue_processes p ON p.id = c.process_id) AS claimed,
              (SELECT count(*)::int FROM solid_queue_blocked_executions) AS blocked,
              (SELECT count(*)::int FROM solid_queue_scheduled_executions) AS scheduled,
              (SELECT count(*)::int FROM solid_queue_failed_executions) AS failed,
              (SELECT count(*)::int FROM solid_queue_recurring_executions) AS recurring,
              (SELECT count(*)::int FROM solid_queue_jobs WHERE finished_at IS NOT NULL) AS finished`,
    );
    for (const n of Object.values(states[0])) expect(n).toBeGreaterThan(0);
  });

  test('every blob and tracked variant blob has its object; the categories add up exactly', async () => {
    const keys = new Set(await listKeys(s3, bucket));
    const o = report.objects!;
    expect(keys.size).toBe(o.total);
    expect(o.blob + o.trackedVariant + o.untrackedVariant + o.orphan + o.otherApp).toBe(o.total);
    expect(o.total).toBeGreaterThanOrEqual(40);

    const blobs = await query<{ key: string; byte_size: string; checksum: string; variant: boolean }>(
      url,
      `SELECT b.key, b.byte_size, b.checksum,
              EXISTS (SELECT 1 FROM active_storage_attachments a WHERE a.blob_id = b.id AND a.record_type = 'ActiveStorage::VariantRecord') AS variant
       FROM active_storage_blobs b`,
    );
    expect(blobs.filter((b) => b.variant)).toHaveLength(o.trackedVariant);
    expect(blobs.filter((b) => !b.variant)).toHaveLength(o.blob);
    const missing = blobs.filter((b) => !keys.has(b.key));
    expect(missing).toEqual([]);

    // Untracked variants hang under their blob's key; orphans and the other app's objects are no blob's.
    const blobKeys = new Set(blobs.map((b) => b.key));
    const variantKeys = [...keys].filter((k) => k.startsWith('variants/'));
    expect(variantKeys).toHaveLength(o.untrackedVariant);
    for (const k of variantKeys) expect(blobKeys.has(k.split('/')[1])).toBe(true);
    const orphans = orphanKeys(report.seed, o.orphan);
    const others = otherAppKeys(report.seed, o.otherApp).map((k) => report.otherAppPrefix + k);
    for (const k of [...orphans, ...others]) expect([k, keys.has(k), blobKeys.has(k)]).toEqual([k, true, false]);

    // An object's bytes are what its blob row says (size and ActiveStorage's base64 MD5).
    const sample = blobs[0];
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: sample.key }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    expect(body.length).toBe(Number(sample.byte_size));
    expect(md5Base64(body)).toBe(sample.checksum);
  });

  test('refuses to generate into a database that already holds data', async () => {
    await expect(generate({ databaseUrl: url, seed: 7 })).rejects.toThrow(/already holds customers rows/);
  });

  test('is deterministic: same seed, same rows; another seed, other rows', async () => {
    const same = newDatabase('demo_det');
    const other = newDatabase('demo_det');
    const bucket2 = newBucket();
    await load({ databaseUrl: same, seed: 7, storage: { bucket: bucket2, endpoint: s3Endpoint() } });
    await load({ databaseUrl: other, seed: 8 }); // no storage: a database-only data set
    const [a, b, c] = await Promise.all([checksums(url), checksums(same), checksums(other)]);
    expect(b).toEqual(a);
    expect(c.customers).not.toEqual(a.customers);
    expect(c.solid_queue_jobs).not.toEqual(a.solid_queue_jobs);
    expect(c.active_storage_blobs).toBe('empty');
    expect((await listKeys(s3, bucket2)).sort()).toEqual((await listKeys(s3, bucket)).sort());
  });
});

describe('separate queue database (Rails 8 default)', () => {
  test('Solid Queue tables and rows go to the queue database only', async () => {
    const primary = newDatabase('demo_q');
    const queue = newDatabase('demo_q_queue');
    const report = (await load({ databaseUrl: primary, queueDatabaseUrl: queue, seed: 3 }))!;
    expect(report.queueDatabase).not.toBe(report.database);
    const p = await countAll(primary);
    const q = await countAll(queue);
    expect(Object.keys(p).filter((t) => t.startsWith('solid_queue_'))).toEqual([]);
    expect(Object.keys(q).filter((t) => t.startsWith('solid_queue_'))).toHaveLength(11);
    expect(q.schema_migrations).toBe(1);
    expect(q.ar_internal_metadata).toBe(1);
    expect(q.solid_queue_jobs).toBe(report.rows.solid_queue_jobs);
    expect(p.customers).toBe(report.rows.customers);
    const both = await countAll(primary, queue);
    expect(both['queue.schema_migrations']).toBe(1);
    expect(both.solid_queue_jobs).toBe(report.rows.solid_queue_jobs);
  });
});
