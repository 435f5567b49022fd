/**
 * Loading the demo app's schema and seeds: what `bin/rails db:schema:load` (+ `db:schema:load:queue`)
 * and `bin/rails db:seed` do for the real app.
 */
import * as fs from 'fs';
import * as path from 'path';
import { databaseName, sameDatabase, withClient } from './db';

export const DB_DIR = path.join(__dirname, '..', 'db');
export const SCHEMA_SQL = path.join(DB_DIR, 'schema.sql');
export const QUEUE_SCHEMA_SQL = path.join(DB_DIR, 'queue_schema.sql');
export const SEEDS_SQL = path.join(DB_DIR, 'seeds.sql');

export interface LoadSchemaOptions {
  /** Where the Solid Queue tables go. Default: the primary database (single-database setup). */
  queueDatabaseUrl?: string;
  /** Drop and recreate the public schema(s) first: every table and row goes. */
  fresh?: boolean;
}

export interface LoadSchemaResult {
  appSchema: 'loaded' | 'present';
  queueSchema: 'loaded' | 'present';
}

async function freshSchema(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query('DROP SCHEMA IF EXISTS public CASCADE');
    await c.query('CREATE SCHEMA public');
  });
}

/** Runs one .sql file in a transaction, unless `probeTable` already exists (then does nothing). */
async function loadFileUnlessPresent(url: string, file: string, probeTable: string): Promise<'loaded' | 'present'> {
  return withClient(url, async (c) => {
    const { rows } = await c.query('SELECT to_regclass($1) AS t', [`public.${probeTable}`]);
    if (rows[0].t) return 'present';
    await c.query('BEGIN');
    try {
      await c.query(fs.readFileSync(file, 'utf8'));
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw new Error(`loading ${path.basename(file)} into ${databaseName(url)} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return 'loaded';
  });
}

/** Loads schema.sql (app + ActiveStorage) and queue_schema.sql (Solid Queue) where they belong. */
export async function loadSchema(databaseUrl: string, opts: LoadSchemaOptions = {}): Promise<LoadSchemaResult> {
  const queueUrl =
    opts.queueDatabaseUrl && !sameDatabase(opts.queueDatabaseUrl, databaseUrl) ? opts.queueDatabaseUrl : undefined;
  if (opts.fresh) {
    await freshSchema(databaseUrl);
    if (queueUrl) await freshSchema(queueUrl);
  }
  const appSchema = await loadFileUnlessPresent(databaseUrl, SCHEMA_SQL, 'users');
  const queueSchema = await loadFileUnlessPresent(queueUrl ?? databaseUrl, QUEUE_SCHEMA_SQL, 'solid_queue_jobs');
  return { appSchema, queueSchema };
}

/** Applies seeds.sql in one transaction (idempotent: running it twice changes nothing). */
export async function seed(databaseUrl: string): Promise<void> {
  await withClient(databaseUrl, async (c) => {
    await c.query('BEGIN');
    try {
      await c.query(fs.readFileSync(SEEDS_SQL, 'utf8'));
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw new Error(`seeding ${databaseName(databaseUrl)} failed: ${(err as Error).message}`, { cause: err });
    }
  });
}
