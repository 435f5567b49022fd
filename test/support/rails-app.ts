/**
 * The real Rails application of test/rails-app (Debian's Rails 6.1, ActiveStorage on the stack's S3):
 * running its bin/rails against a database, and reading a database's end state table by table and
 * sequence by sequence so two databases can be compared.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { REPO_ROOT } from './temporal';

export const RAILS_APP = path.join(REPO_ROOT, 'test', 'rails-app');

/** What the app reads from its environment (config/database.yml, config/storage.yml, production.rb). */
export interface RailsEnv {
  DATABASE_URL: string;
  SECRET_KEY_BASE: string;
  S3_BUCKET: string;
  S3_ENDPOINT: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
  [name: string]: string;
}

/** Runs `bin/rails <args>` in production, as the app's deploy would; rejects with its output on failure. */
export function rails(args: string[], env: RailsEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(RAILS_APP, 'bin', 'rails'), args, {
      cwd: RAILS_APP,
      // Only what a deploy sets: no RR_*, no PG* of the stack.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        LANG: 'C.UTF-8',
        RAILS_ENV: 'production',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`bin/rails ${args.join(' ')} failed (${signal ?? code}):\n${out}`));
    });
  });
}

/** Tables that db:seed:replant and the runbook both keep as they are (Rails' own bookkeeping). */
export const KEPT_TABLES = ['schema_migrations', 'ar_internal_metadata'];

/**
 * Columns whose values two equal resets cannot share: when the seeds ran (created_at/updated_at of
 * rows the seeds wrote) and ActiveStorage's blob key (SecureRandom, a new one per upload). Every
 * other column — ids and foreign keys included — must match.
 */
export function volatileColumn(table: string, column: string): boolean {
  if (table === 'active_storage_blobs' && column === 'key') return true;
  return !KEPT_TABLES.includes(table) && (column === 'created_at' || column === 'updated_at');
}

export interface DatabaseState {
  /** table -> its rows (deterministic columns only, JSON, sorted). */
  tables: Record<string, string[]>;
  /** sequence -> last_value (null before its first nextval) */
  sequences: Record<string, string | null>;
}

/** Every base table and sequence of the public schema (the app's; the runbook's own lives in another). */
export async function databaseState(url: string): Promise<DatabaseState> {
  const c = new PgClient({ connectionString: url });
  await c.connect();
  try {
    const cols = await c.query<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
        ORDER BY c.table_name, c.ordinal_position`,
    );
    const byTable = new Map<string, string[]>();
    for (const r of cols.rows) {
      if (!byTable.has(r.table_name)) byTable.set(r.table_name, []);
      if (!volatileColumn(r.table_name, r.column_name)) byTable.get(r.table_name)!.push(r.column_name);
    }
    const tables: Record<string, string[]> = {};
    for (const [table, columns] of [...byTable].sort(([a], [b]) => a.localeCompare(b))) {
      const list = columns.map((col) => `"${col}"`).join(', ');
      const rows = await c.query(`SELECT ${list} FROM "${table}" ORDER BY ${columns.map((_, i) => i + 1).join(', ')}`);
      tables[table] = rows.rows.map((r) => JSON.stringify(r));
    }
    const seqs = await c.query<{ sequencename: string; last_value: string | null }>(
      `SELECT sequencename, last_value::text FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename`,
    );
    return { tables, sequences: Object.fromEntries(seqs.rows.map((r) => [r.sequencename, r.last_value])) };
  } finally {
    await c.end();
  }
}
