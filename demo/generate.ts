/**
 * The demo data generator: fills a phonefin database (and its S3 bucket) with a production-like data set
 * for the runbook to reset. Entry points for code (tests, the runbook's tests) are the exports here; the
 * command line is demo/cli.ts (scripts/demo-db).
 *
 *   load()      = ensureDatabase + loadSchema + seed + generate: what `scripts/demo-db load` does
 *   generate()  = rows (app, queue, ActiveStorage) + objects; returns exactly what it made
 *   countAll()  = exact row count per table, read back from the database(s)
 *
 * What the bucket holds afterwards, and what a correct reset does with it:
 *   blob             object of an active_storage_blobs row          → the reset purges it
 *   trackedVariant   object of a tracked variant's own blob         → purged (its blob row is dropped too)
 *   untrackedVariant variants/<blob key>/<digest>, no row at all    → purged with its blob (by prefix)
 *   orphan           key like a blob's, but no blob names it: left over from before the reset. The reset
 *                    deletes only objects of blobs its truncation dropped, so these are LEFT ALONE (and
 *                    a plan may report them).
 *   otherApp         other-app/… : another application's objects in the same bucket → never touched.
 */
import { createHash } from 'crypto';
import { Client } from 'pg';
import { databaseName, ensureDatabase, sameDatabase, withClient } from './lib/db';
import { loadSchema, seed } from './lib/schema';
import { countAll, tableChecksums } from './lib/counts';
import { DEFAULT_BASE_TIME, parseScale, planFor } from './lib/plan';
import { installSqlHelpers } from './lib/sql-helpers';
import { generateAppRows } from './lib/app-rows';
import { generateQueueRows } from './lib/queue-rows';
import { blobKeys, generateStorageRows, untrackedVariantKeys } from './lib/storage-rows';
import { ensureBucket, putObjects, s3Client, StorageOptions } from './lib/objects';
import { DISK_BLOB_KEY_SQL, limitFolders, writeDiskFiles } from './lib/disk-objects';

export { loadSchema, seed, countAll, tableChecksums, ensureDatabase };
export type { StorageOptions };

/** ActiveStorage's Disk service: the files go to a local folder (demo/lib/disk-objects.ts) instead of a bucket. */
export interface DiskStorageOptions {
  kind: 'disk';
  /** The service's root folder (created if missing). */
  root: string;
  /** active_storage_blobs.service_name. Default "local" (Rails' storage.yml name for the Disk service). */
  serviceName?: string;
}

const isDisk = (s: StorageOptions | DiskStorageOptions | undefined): s is DiskStorageOptions =>
  (s as DiskStorageOptions | undefined)?.kind === 'disk';

export interface GenerateOptions {
  databaseUrl: string;
  /** Separate Solid Queue database (Rails 8 default). Default: the primary holds the queue tables. */
  queueDatabaseUrl?: string;
  /** "small" (default), "large", or a positive integer multiplier. */
  scale?: number | string;
  /** Same seed → same rows, same keys. Default "1". */
  seed?: number | string;
  /** The fixed "now" every generated timestamp derives from. */
  baseTime?: string;
  /** Without it no ActiveStorage rows and no objects are made (a database-only data set). */
  storage?: StorageOptions | DiskStorageOptions;
  log?: (line: string) => void;
}

export interface ObjectCounts {
  blob: number;
  trackedVariant: number;
  untrackedVariant: number;
  orphan: number;
  otherApp: number;
  total: number;
}

export interface GenerateReport {
  database: string;
  queueDatabase: string;
  scale: number;
  seed: string;
  /** Rows this run inserted, per table (pg's rowCount, summed): exact. */
  rows: Record<string, number>;
  totalRows: number;
  /** null when no storage was given. */
  objects: ObjectCounts | null;
  bucket: string | null;
  /** The Disk service's root folder, when the files went there instead of a bucket. */
  storageDir?: string | null;
  prefix: string;
  otherAppPrefix: string;
  seconds: { rows: number; objects: number; total: number };
}

/** Keys of the orphan objects a seed makes (relative to the app's prefix): blob-like, named by no blob. */
export function orphanKeys(seedValue: string | number, n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    createHash('md5')
      .update(`orphan:${seedValue}:${i + 1}`)
      .digest('hex')
      .slice(0, 28),
  );
}

/** Keys of the other application's objects (relative to otherAppPrefix). */
export function otherAppKeys(seedValue: string | number, n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) =>
      `uploads/${createHash('md5')
        .update(`other:${seedValue}:${i + 1}`)
        .digest('hex')
        .slice(0, 28)}.jpg`,
  );
}

async function assertEmpty(c: Client, tables: string[], where: string): Promise<void> {
  for (const t of tables) {
    const { rows } = await c.query(`SELECT EXISTS (SELECT 1 FROM ${t}) AS any`);
    if (rows[0].any) {
      throw new Error(
        `${where} already holds ${t} rows: generate fills an empty data set. Reset it, or reload with --fresh.`,
      );
    }
  }
}

async function inTransaction<T>(c: Client, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const out = await fn();
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export async function generate(opts: GenerateOptions): Promise<GenerateReport> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const scale = parseScale(opts.scale);
  const plan = planFor(scale);
  const seedValue = String(opts.seed ?? 1);
  const baseTime = opts.baseTime ?? DEFAULT_BASE_TIME;
  const queueUrl =
    opts.queueDatabaseUrl && !sameDatabase(opts.queueDatabaseUrl, opts.databaseUrl) ? opts.queueDatabaseUrl : undefined;
  const ctx = { seed: seedValue, baseTime, plan };
  const rows: Record<string, number> = {};
  const add = (made: Record<string, number>) => {
    for (const [t, n] of Object.entries(made)) rows[t] = (rows[t] ?? 0) + n;
  };

  // Primary: app rows + ActiveStorage rows, one transaction (a failure leaves nothing half-made).
  let blobs: { key: string; trackedVariant: boolean }[] = [];
  let untracked: string[] = [];
  await withClient(opts.databaseUrl, async (c) => {
    const { rows: u } = await c.query('SELECT count(*)::int AS n FROM users');
    if (u[0].n === 0) throw new Error(`${databaseName(opts.databaseUrl)} has no users: seed it first (seeds.sql).`);
    await assertEmpty(c, ['customers', 'active_storage_blobs'], databaseName(opts.databaseUrl));
    await installSqlHelpers(c);
    if (isDisk(opts.storage)) await c.query(DISK_BLOB_KEY_SQL);
    await inTransaction(c, async () => {
      log(`rows: app data (scale ${scale}, seed ${seedValue}) ...`);
      add(await generateAppRows(c, ctx));
      if (opts.storage) {
        // The rows just made have no statistics yet: at xlarge the planner then nests loops over the
        // blob/attachment CTEs (hours). Hash joins are what a bulk INSERT … SELECT wants anyway.
        await c.query('SET LOCAL enable_nestloop = off');
        const serviceName = opts.storage.serviceName ?? (isDisk(opts.storage) ? 'local' : 'amazon');
        add(await generateStorageRows(c, { seed: seedValue, serviceName }));
        blobs = await blobKeys(c);
        untracked = await untrackedVariantKeys(c);
      }
    });
  });

  // Queue: its own transaction, in whichever database holds the Solid Queue tables.
  await withClient(queueUrl ?? opts.databaseUrl, async (c) => {
    await assertEmpty(c, ['solid_queue_jobs', 'solid_queue_processes'], databaseName(queueUrl ?? opts.databaseUrl));
    await installSqlHelpers(c);
    log('rows: Solid Queue data ...');
    await inTransaction(c, async () => add(await generateQueueRows(c, ctx)));
  });
  const rowsDone = Date.now();

  let objects: ObjectCounts | null = null;
  const disk = isDisk(opts.storage) ? opts.storage : undefined;
  const s3opts = isDisk(opts.storage) ? undefined : opts.storage;
  const prefix = s3opts?.prefix ?? '';
  const otherAppPrefix = s3opts?.otherAppPrefix ?? 'other-app/';
  const countObjects = (total: number): ObjectCounts => {
    const tracked = blobs.filter((b) => b.trackedVariant).length;
    return {
      blob: blobs.length - tracked,
      trackedVariant: tracked,
      untrackedVariant: untracked.length,
      orphan: plan.orphanObjects,
      otherApp: plan.otherAppObjects,
      total,
    };
  };
  if (disk) {
    // The same files as on S3 (orphans, other app's included), at their Disk paths; orphans' keys get
    // the blobs' folder limit so that they share the blobs' folders.
    const uploads = [
      ...blobs.map((b) => ({ storedKey: b.key, bodyKey: b.key })),
      ...untracked.map((k) => ({ storedKey: k, bodyKey: k })),
      ...orphanKeys(seedValue, plan.orphanObjects).map((k) => ({ storedKey: limitFolders(k), bodyKey: k })),
      ...otherAppKeys(seedValue, plan.otherAppObjects).map((k) => ({ storedKey: otherAppPrefix + k, bodyKey: k })),
    ];
    log(`objects: writing ${uploads.length} files under ${disk.root} (Disk service layout) ...`);
    writeDiskFiles(disk.root, uploads);
    objects = countObjects(uploads.length);
  } else if (s3opts) {
    const storage = s3opts;
    const s3 = s3Client(storage);
    try {
      await ensureBucket(s3, storage.bucket);
      const orphans = orphanKeys(seedValue, plan.orphanObjects);
      const others = otherAppKeys(seedValue, plan.otherAppObjects);
      const uploads = [
        ...blobs.map((b) => ({ storedKey: prefix + b.key, bodyKey: b.key })),
        ...untracked.map((k) => ({ storedKey: prefix + k, bodyKey: k })),
        ...orphans.map((k) => ({ storedKey: prefix + k, bodyKey: k })),
        ...others.map((k) => ({ storedKey: otherAppPrefix + k, bodyKey: k })),
      ];
      log(`objects: uploading ${uploads.length} to bucket ${storage.bucket} ...`);
      await putObjects(s3, storage.bucket, uploads, storage.concurrency ?? 32);
      objects = countObjects(uploads.length);
    } finally {
      s3.destroy();
    }
  }
  const done = Date.now();
  return {
    database: databaseName(opts.databaseUrl),
    queueDatabase: databaseName(queueUrl ?? opts.databaseUrl),
    scale,
    seed: seedValue,
    rows,
    totalRows: Object.values(rows).reduce((a, b) => a + b, 0),
    objects,
    bucket: s3opts?.bucket ?? null,
    storageDir: disk?.root ?? null,
    prefix,
    otherAppPrefix,
    seconds: { rows: (rowsDone - started) / 1000, objects: (done - rowsDone) / 1000, total: (done - started) / 1000 },
  };
}

export interface LoadOptions extends GenerateOptions {
  /** Drop and recreate the schema(s) first. */
  fresh?: boolean;
  /** Only create, load schema and seed; no generated data. */
  schemaOnly?: boolean;
}

/** Everything `scripts/demo-db load` does: create database(s) if missing, schema, seeds, data. */
export async function load(opts: LoadOptions): Promise<GenerateReport | null> {
  const log = opts.log ?? (() => undefined);
  const queueUrl =
    opts.queueDatabaseUrl && !sameDatabase(opts.queueDatabaseUrl, opts.databaseUrl) ? opts.queueDatabaseUrl : undefined;
  if (await ensureDatabase(opts.databaseUrl)) log(`created database ${databaseName(opts.databaseUrl)}`);
  if (queueUrl && (await ensureDatabase(queueUrl))) log(`created database ${databaseName(queueUrl)}`);
  const schema = await loadSchema(opts.databaseUrl, { queueDatabaseUrl: queueUrl, fresh: opts.fresh });
  log(
    `schema: app ${schema.appSchema}, queue ${schema.queueSchema}${queueUrl ? ` (in ${databaseName(queueUrl)})` : ''}`,
  );
  await seed(opts.databaseUrl);
  log('seeds applied');
  if (opts.schemaOnly) return null;
  return generate({ ...opts, queueDatabaseUrl: queueUrl });
}
