/**
 * The data each case runs on, and its re-creation between runs. The demo is loaded once per fixture
 * (`scripts/demo-db load --scale N`), into a database and a bucket of its own;
 * the loaded database is copied to a template. Before every run the database is re-created from the
 * template (CREATE DATABASE … TEMPLATE: a file copy, about a second) and the objects a reset deletes
 * are put back (S3 has no bulk upload: this is what makes a full bench take long). With a storage
 * folder (`storageDir`) the files are on ActiveStorage's Disk service instead (demo-db --storage-dir):
 * putting them back is a file write each, seconds for a million.
 *
 * A loaded fixture is reused by a later bench (`reuse`): its template database carries, as its comment,
 * what was loaded (scale, storage) and the loader's report; the storage folder holds the same in
 * `.bench-fixture.json`. xlarge's load (11 M rows) takes minutes; a second bench on it then starts at once.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { GenerateReport } from '../../demo/generate';
import { writeDiskFiles } from '../../demo/lib/disk-objects';
import { putObjects, s3Client } from '../../demo/lib/objects';
import { untrackedVariantKeys } from '../../demo/lib/storage-rows';
import { databaseUrl, REPO, type BenchStack } from './stack';

export interface Fixture {
  name: string;
  database: string;
  url: string;
  bucket: string;
  /** The Disk service's root: the files are there, not in the bucket. */
  storageDir?: string;
  scale: number;
  report: GenerateReport;
  /**
   * Every key a correct reset deletes: the blobs' keys and their untracked variants (no prefix: the demo uses none).
   */
  doomedKeys: string[];
  /** Objects in the bucket after the load. */
  objects: number;
  s3: S3Client;
}

async function admin<T>(stack: BenchStack, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: stack.pgAdminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const template = (db: string) => `${db}_template`;

/** `scripts/demo-db load … --json`: the demo as its own loader makes it; its progress lines go to log. */
function demoDbLoad(args: string[], log: (l: string) => void): Promise<GenerateReport> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      path.join(REPO, 'scripts', 'demo-db'),
      ['load', ...args, '--json'],
      { maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err)
          return reject(
            new Error(`scripts/demo-db load failed: ${stderr.trim().split('\n').slice(-3).join(' / ') || err.message}`),
          );
        resolve(JSON.parse(stdout) as GenerateReport);
      },
    );
    child.stderr?.on('data', (b: Buffer) => {
      for (const l of b.toString().split('\n')) if (l.startsWith('demo-db: ')) log(`  ${l}`);
    });
  });
}

const MARKER = '.bench-fixture.json';

/** The template of an earlier load of the same fixture, if both it and its storage folder are there. */
async function reusable(
  stack: BenchStack,
  signature: string,
  storageDir?: string,
): Promise<GenerateReport | undefined> {
  return admin(stack, async (c) => {
    const { database } = { database: JSON.parse(signature).database as string };
    const r = await c.query(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [template(database)],
    );
    const comment = r.rows[0]?.comment as string | undefined;
    if (!comment) return undefined;
    const saved = JSON.parse(comment) as { signature: string; report: GenerateReport };
    if (saved.signature !== signature) return undefined;
    if (storageDir) {
      const marker = path.join(storageDir, MARKER);
      if (!fs.existsSync(marker) || fs.readFileSync(marker, 'utf8') !== signature) return undefined;
    }
    return saved.report;
  });
}

export async function loadFixture(
  stack: BenchStack,
  o: {
    name: string;
    database: string;
    bucket: string;
    scale: number;
    noStorage?: boolean;
    storageDir?: string;
    /** Use an earlier load of the same fixture if its template (and folder) are still there. */
    reuse?: boolean;
  },
  log: (l: string) => void,
): Promise<Fixture> {
  const url = databaseUrl(stack, o.database);
  const started = Date.now();
  const where = o.noStorage ? 'no storage' : o.storageDir ? `Disk service ${o.storageDir}` : `bucket ${o.bucket}`;
  const signature = JSON.stringify({
    database: o.database,
    scale: o.scale,
    storage: o.noStorage ? null : (o.storageDir ?? `s3:${o.bucket}`),
  });
  let report = o.reuse && !o.noStorage ? await reusable(stack, signature, o.storageDir) : undefined;
  if (report) {
    log(`fixture ${o.name}: reusing the scale ${o.scale} load in ${template(o.database)} (${where})`);
    await recreateDatabase(stack, { database: o.database } as Fixture);
  } else {
    log(`fixture ${o.name}: loading the demo at scale ${o.scale} into database ${o.database}, ${where} ...`);
    await admin(stack, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${o.database} WITH (FORCE)`);
      await c.query(`DROP DATABASE IF EXISTS ${template(o.database)}`);
    });
    if (o.storageDir) fs.rmSync(o.storageDir, { recursive: true, force: true });
    report = await demoDbLoad(
      [
        '--fresh',
        '--database-url',
        url,
        '--scale',
        String(o.scale),
        '--seed',
        '1',
        // No blobs and no objects: for a case that only dumps the database (the uploads take minutes).
        ...(o.noStorage
          ? ['--no-storage']
          : o.storageDir
            ? ['--storage-dir', o.storageDir]
            : ['--bucket', o.bucket, '--s3-endpoint', stack.s3Endpoint]),
      ],
      log,
    );
    if (!report?.objects && !o.noStorage) throw new Error(`fixture ${o.name}: the demo load made no objects`);
  }
  const c = new Client({ connectionString: url });
  await c.connect();
  let doomedKeys: string[];
  try {
    const blobs = (await c.query(`SELECT key FROM active_storage_blobs ORDER BY key`)).rows.map((r) => r.key as string);
    doomedKeys = [...blobs, ...(await untrackedVariantKeys(c))];
  } finally {
    await c.end();
  }
  if (!(await reusable(stack, signature, o.storageDir))) {
    await admin(stack, async (a) => {
      await a.query(`DROP DATABASE IF EXISTS ${template(o.database)}`);
      await a.query(`CREATE DATABASE ${template(o.database)} TEMPLATE ${o.database} STRATEGY FILE_COPY`);
      const comment = JSON.stringify({ signature, report });
      await a.query(`COMMENT ON DATABASE ${template(o.database)} IS '${comment.replace(/'/g, "''")}'`);
    });
    if (o.storageDir) fs.writeFileSync(path.join(o.storageDir, MARKER), signature);
  } else if (o.storageDir) {
    // A reused folder may miss the files an interrupted run deleted.
    await recreateObjects({ ...o, doomedKeys } as unknown as Fixture);
  }
  log(
    `fixture ${o.name}: ${report.totalRows} rows, ${report.objects?.total ?? 0} objects (${doomedKeys.length} a reset deletes), loaded in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  return {
    ...o,
    url,
    report,
    doomedKeys,
    objects: report.objects?.total ?? 0,
    s3: s3Client({ bucket: o.bucket, endpoint: stack.s3Endpoint }),
  };
}

/**
 * The database as loaded; nothing may be connected to it (stop the Solid Queue stand-in first).
 * FILE_COPY: a copy of the template's files after a checkpoint, where the default (WAL_LOG) writes
 * every block through the WAL — minutes instead of seconds for xlarge's 3 GB.
 */
export async function recreateDatabase(stack: BenchStack, f: Pick<Fixture, 'database'>): Promise<void> {
  await admin(stack, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${f.database} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${f.database} TEMPLATE ${template(f.database)} STRATEGY FILE_COPY`);
  });
}

/**
 * Puts back every object a reset deletes (on S3 those already there are overwritten with the same
 * bytes; on the Disk service they are left as they are).
 */
export async function recreateObjects(f: Fixture, keys: string[] = f.doomedKeys): Promise<void> {
  if (f.storageDir) {
    writeDiskFiles(
      f.storageDir,
      keys.map((k) => ({ storedKey: k, bodyKey: k })),
    );
    return;
  }
  await putObjects(
    f.s3,
    f.bucket,
    keys.map((k) => ({ storedKey: k, bodyKey: k })),
    32,
  );
}

export async function dropFixture(stack: BenchStack, f: Fixture): Promise<void> {
  await admin(stack, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${f.database} WITH (FORCE)`);
    await c.query(`DROP DATABASE IF EXISTS ${template(f.database)}`);
  });
  if (f.storageDir) fs.rmSync(f.storageDir, { recursive: true, force: true });
}
