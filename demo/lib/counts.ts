/**
 * Reading a demo database back: exact row counts of every table, and per-table checksums (the md5 of all
 * rows in id order) to prove two loads or two seed runs are identical.
 */
import { Client, escapeIdentifier } from 'pg';
import { sameDatabase, withClient } from './db';

async function tablesOf(c: Client): Promise<string[]> {
  const { rows } = await c.query(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name as string);
}

async function countTables(c: Client): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of await tablesOf(c)) {
    const { rows } = await c.query(`SELECT count(*)::bigint AS n FROM ${escapeIdentifier(t)}`);
    out[t] = Number(rows[0].n);
  }
  return out;
}

/**
 * Exact row count of every table in the public schema. With a separate queue database its tables are
 * included too; the two tables both databases have (schema_migrations, ar_internal_metadata) appear for
 * the queue database as "queue.schema_migrations" / "queue.ar_internal_metadata".
 */
export async function countAll(databaseUrl: string, queueDatabaseUrl?: string): Promise<Record<string, number>> {
  const primary = await withClient(databaseUrl, countTables);
  if (!queueDatabaseUrl || sameDatabase(queueDatabaseUrl, databaseUrl)) return primary;
  const queue = await withClient(queueDatabaseUrl, countTables);
  for (const [t, n] of Object.entries(queue)) primary[t in primary ? `queue.${t}` : t] = n;
  return primary;
}

/**
 * md5 over every row's text, sorted, per table: equal for two tables with the same rows.
 * `exclude` drops columns first: e.g. created_at/updated_at of the seed tables, which are the clock's.
 */
export async function tableChecksums(
  url: string,
  opts: { tables?: string[]; exclude?: string[] } = {},
): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const tables = opts.tables ?? (await tablesOf(c));
    const out: Record<string, string> = {};
    for (const t of tables) {
      const { rows: cols } = await c.query(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
        [t],
      );
      const list = cols
        .map((r) => r.column_name as string)
        .filter((n) => !(opts.exclude ?? []).includes(n))
        .map((n) => escapeIdentifier(n))
        .join(', ');
      const { rows } = await c.query(
        `SELECT coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), 'empty') AS sum
         FROM (SELECT ${list} FROM ${escapeIdentifier(t)}) x`,
      );
      out[t] = rows[0].sum as string;
    }
    return out;
  });
}
