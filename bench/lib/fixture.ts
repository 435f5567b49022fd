/**
 * The data each case runs on, and its re-creation between runs. The demo is loaded once per fixture
 * (`scripts/demo-db load --scale N`), into a database and a bucket of its own;
 * the loaded database is copied to a template. Before every run the database is re-created from the
 * template (CREATE DATABASE … TEMPLATE: a file copy, about a second) and the objects a reset deletes
 * are put back (S3 has no bulk upload: this is what makes a full bench take long).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { GenerateReport } from '../../demo/generate';
import { putObjects, s3Client } from '../../demo/lib/objects';
import { untrackedVariantKeys } from '../../demo/lib/storage-rows';
import { databaseUrl, REPO, type BenchStack } from './stack';

export interface Fixture {
  name: string;
  database: string;
  url: string;
  bucket: string;
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

/** `scripts/demo-db load … --json`: the demo as its own loader makes it. */
function demoDbLoad(args: string[]): Promise<GenerateReport> {
  return new Promise((resolve, reject) => {
    execFile(
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
  });
}

export async function loadFixture(
  stack: BenchStack,
  o: { name: string; database: string; bucket: string; scale: number; noStorage?: boolean },
  log: (l: string) => void,
): Promise<Fixture> {
  const url = databaseUrl(stack, o.database);
  const started = Date.now();
  log(`fixture ${o.name}: loading the demo at scale ${o.scale} into database ${o.database}, bucket ${o.bucket} ...`);
  await admin(stack, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${o.database} WITH (FORCE)`);
    await c.query(`DROP DATABASE IF EXISTS ${template(o.database)}`);
  });
  const report = await demoDbLoad([
    '--fresh',
    '--database-url',
    url,
    '--scale',
    String(o.scale),
    '--seed',
    '1',
    // No blobs and no objects: for a case that only dumps the database (the uploads take minutes).
    ...(o.noStorage ? ['--no-storage'] : ['--bucket', o.bucket, '--s3-endpoint', stack.s3Endpoint]),
  ]);
  if (!report?.objects && !o.noStorage) throw new Error(`fixture ${o.name}: the demo load made no objects`);
  const c = new Client({ connectionString: url });
  await c.connect();
  let doomedKeys: string[];
  try {
    const blobs = (await c.query(`SELECT key FROM active_storage_blobs ORDER BY key`)).rows.map((r) => r.key as string);
    doomedKeys = [...blobs, ...(await untrackedVariantKeys(c))];
  } finally {
    await c.end();
  }
  await admin(stack, (a) => a.query(`CREATE DATABASE ${template(o.database)} TEMPLATE ${o.database}`));
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

/** The database as loaded; nothing may be connected to it (stop the Solid Queue stand-in first). */
export async function recreateDatabase(stack: BenchStack, f: Fixture): Promise<void> {
  await admin(stack, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${f.database} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${f.database} TEMPLATE ${template(f.database)}`);
  });
}

/** Puts back every object a reset deletes (those already there are overwritten with the same bytes). */
export async function recreateObjects(f: Fixture, keys: string[] = f.doomedKeys): Promise<void> {
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
}
