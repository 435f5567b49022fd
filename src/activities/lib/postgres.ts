/**
 * PostgreSQL access shared by the steps: short-lived clients, and the catalogue queries that tell
 * which tables exist, how they reference each other, and how many rows they hold.
 * Identifiers are always quoted with escapeIdentifier; values are always parameters.
 */
import { Client, escapeIdentifier } from 'pg';
import { cancellation, throwIfCancelled } from './keepalive';
import { realPgClient } from './deps';
import type { DatabaseHandle } from './target';

/**
 * A client for the length of fn (graphile worker's withPgClient), made by the handle's `connect`
 * (the worker's pg dependency, deps.ts). When the activity is cancelled, the statement in flight is cancelled
 * on the server (pg_cancel_backend from a second connection: a TRUNCATE waiting for a lock, or a long
 * SQL seed, would otherwise run on — the server does not notice a client that stops listening),
 * so fn's open transaction fails and is rolled back, and fn rejects promptly.
 */
export async function withClient<T>(
  db: DatabaseHandle,
  fn: (c: Client) => Promise<T>,
  appName = 'reset-runbook',
): Promise<T> {
  const signal = cancellation();
  throwIfCancelled(signal);
  const client = (db.connect ?? realPgClient)({
    connectionString: db.url,
    application_name: appName,
    connectionTimeoutMillis: 10_000,
  });
  // An error event on an idle client would otherwise crash the worker process.
  client.on('error', () => undefined);
  await client.connect();
  let finished = false;
  let canceller: Promise<void> | undefined;
  const onCancel = () => {
    canceller ??= cancelOnServer(db, client, () => finished);
  };
  try {
    signal?.addEventListener('abort', onCancel, { once: true });
    if (signal?.aborted) onCancel();
    return await fn(client);
  } finally {
    finished = true;
    signal?.removeEventListener('abort', onCancel);
    await canceller;
    await client.end().catch(() => undefined);
  }
}

/**
 * One session per database, all open while fn runs (each as withClient opens it): for work that reads
 * every database and then reads them again, so it pays one connection per database, not one per read.
 */
export async function withClients<T>(
  dbs: readonly DatabaseHandle[],
  fn: (clients: Client[]) => Promise<T>,
  appName?: string,
): Promise<T> {
  const open = (i: number, held: Client[]): Promise<T> =>
    i === dbs.length ? fn(held) : withClient(dbs[i], (c) => open(i + 1, [...held, c]), appName);
  return open(0, []);
}

/**
 * Cancels the client's statement until fn is done: a cancel that lands between two statements
 * (e.g. just before the TRUNCATE starts) would otherwise be lost.
 */
async function cancelOnServer(db: DatabaseHandle, client: Client, done: () => boolean): Promise<void> {
  const pid = (client as unknown as { processID?: number }).processID;
  if (!pid) return;
  const admin = (db.connect ?? realPgClient)({
    connectionString: db.url,
    application_name: 'reset-runbook:cancel',
    connectionTimeoutMillis: 10_000,
  });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    while (!done()) {
      await admin.query(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [
        pid,
      ]);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch {
    /* the client's own end() still closes its session; the server then rolls back */
  } finally {
    await admin.end().catch(() => undefined);
  }
}

export interface TableRef {
  schema: string;
  table: string;
}
export const qualified = (t: TableRef) => `${t.schema}.${t.table}`;
export const quoted = (t: TableRef) => `${escapeIdentifier(t.schema)}.${escapeIdentifier(t.table)}`;

/** The schemas to reset: the configured ones, or those of the connection's search path that exist. */
export async function schemasOf(c: Client, db: DatabaseHandle): Promise<string[]> {
  if (db.schemas?.length) return db.schemas;
  const r = await c.query<{ s: string }>(`SELECT unnest(current_schemas(false)) AS s`);
  return r.rows.map((x) => x.s);
}

export async function listTables(c: Client, schemas: string[]): Promise<TableRef[]> {
  const r = await c.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, cl.relname AS table
       FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE cl.relkind IN ('r', 'p') AND NOT cl.relispartition AND n.nspname = ANY($1)
      ORDER BY 1, 2`,
    [schemas],
  );
  return r.rows;
}

export interface ForeignKey {
  name: string;
  from: TableRef;
  to: TableRef;
}

export async function listForeignKeys(c: Client, schemas: string[]): Promise<ForeignKey[]> {
  const r = await c.query<{ name: string; fs: string; ft: string; ts: string; tt: string }>(
    `SELECT con.conname AS name, fn.nspname AS fs, fc.relname AS ft, tn.nspname AS ts, tc.relname AS tt
       FROM pg_constraint con
       JOIN pg_class fc ON fc.oid = con.conrelid JOIN pg_namespace fn ON fn.oid = fc.relnamespace
       JOIN pg_class tc ON tc.oid = con.confrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
      WHERE con.contype = 'f' AND (fn.nspname = ANY($1) OR tn.nspname = ANY($1))
      ORDER BY 1`,
    [schemas],
  );
  return r.rows.map((x) => ({ name: x.name, from: { schema: x.fs, table: x.ft }, to: { schema: x.ts, table: x.tt } }));
}

export async function countRows(c: Client, t: TableRef): Promise<number> {
  const r = await c.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${quoted(t)}`);
  return Number(r.rows[0].n);
}

/** Tables counted per statement: well under PostgreSQL's 1,664 columns of a result row. */
const COUNTS_PER_STATEMENT = 500;

/**
 * Exact counts of many tables, in their order, one statement (one round trip) for up to 500 of them: a
 * Rails schema has dozens of tables, and counted one by one each took a round trip of its own (most of
 * the time of counting a small database). The same snapshot rules as separate statements: each count is
 * its statement's, and inside a transaction they share what it sees.
 */
export async function countRowsOf(c: Client, tables: TableRef[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < tables.length; i += COUNTS_PER_STATEMENT) {
    const part = tables.slice(i, i + COUNTS_PER_STATEMENT);
    const r = await c.query({
      text: `SELECT ${part.map((t) => `(SELECT count(*) FROM ${quoted(t)})::bigint`).join(', ')}`,
      rowMode: 'array',
    });
    out.push(...(r.rows[0] as string[]).map(Number));
  }
  return out;
}

/** "users" matches a table of that name in any reset schema; "public.users" only that one. */
export function matchesName(t: TableRef, name: string): boolean {
  return name.includes('.') ? name === qualified(t) : name === t.table;
}

export async function tableExists(c: Client, name: string): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [name]);
  return r.rows[0].ok;
}
