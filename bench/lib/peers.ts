/**
 * The peers: what a person or a script does by hand, each the bare minimum of its step.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { DeleteObjectCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { REPO } from './stack';

export const SEEDS_SQL = path.join(REPO, 'demo', 'db', 'seeds.sql');
/** What db:seed:replant keeps: Rails' internal tables. */
export const RAILS_KEPT = ['schema_migrations', 'ar_internal_metadata'];

/** Runs a program to its end; rejects with its output on a non-zero exit. */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(file)} exited ${code}: ${err.trim()}`)),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** The URL's password goes through libpq's environment, never argv (as the runbook's pg_dump does). */
export function libpq(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: u.pathname.slice(1),
  };
}

/** Bare `pg_dump -Fc` of the database into file. */
export function pgDump(pgBin: string, url: string, file: string): Promise<void> {
  return run(path.join(pgBin, 'pg_dump'), ['-Fc', '-f', file], libpq(url));
}

/** Every table of the public schema but Rails' internal ones: what the script truncates. */
export async function tablesToTruncate(c: Client): Promise<string[]> {
  const { rows } = await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
  return rows.map((r) => r.tablename as string).filter((t) => !RAILS_KEPT.includes(t));
}

/** Bare `psql`: one transaction, TRUNCATE of those tables, then the seeds. */
export function psqlTruncateAndSeed(pgBin: string, url: string, tables: string[]): Promise<void> {
  const sql = `TRUNCATE ${tables.map((t) => `"${t}"`).join(', ')} RESTART IDENTITY CASCADE;\n\\i ${SEEDS_SQL}\n`;
  return run(
    path.join(pgBin, 'psql'),
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-'],
    libpq(url),
    sql,
  );
}

/** Exact `count(*)` of every table of the database (one connection, one query per table). */
export async function exactCounts(url: string): Promise<Record<string, number>> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    );
    const out: Record<string, number> = {};
    for (const r of rows)
      out[`${r.schemaname}.${r.tablename}`] = Number(
        (await c.query(`SELECT count(*) AS n FROM "${r.schemaname}"."${r.tablename}"`)).rows[0].n,
      );
    return out;
  } finally {
    await c.end();
  }
}

/** Keys under prefix, one ListObjectsV2 page (1,000) after another. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * The script's purge: the dropped blobs' keys and, from one listing of `variants/`, their untracked
 * variants, deleted by key with DeleteObjects, 1,000 a call, one call after another.
 */
export async function deleteByKey(s3: S3Client, bucket: string, blobKeys: string[]): Promise<number> {
  const dropped = new Set(blobKeys);
  const variants = (await listKeys(s3, bucket, 'variants/')).filter((k) => dropped.has(k.split('/')[1]));
  const keys = [...blobKeys, ...variants];
  let deleted = 0;
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const r = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
    );
    if (r.Errors?.length)
      throw new Error(`DeleteObjects refused ${r.Errors.length} key(s), e.g. ${r.Errors[0].Key}: ${r.Errors[0].Code}`);
    deleted += batch.length;
  }
  return deleted;
}

/** purge_later's way: one DeleteObject per key, one after another. */
export async function deleteOneByOne(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (const Key of keys) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
}
