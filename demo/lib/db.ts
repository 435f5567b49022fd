/**
 * Connection helpers for the demo tools: open a client, create a database if it is missing, and name a
 * database without ever printing its URL (which may hold a password).
 */
import { Client, escapeIdentifier } from 'pg';

export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The database a URL points at (its path), e.g. "phonefin_production". */
export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!name) throw new Error('the database URL names no database (expected postgres://host:port/NAME)');
  return name;
}

/** The URL with the password removed: safe for a log line. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** The same server's maintenance database: where CREATE/DROP DATABASE run. */
export function maintenanceUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

/** Creates the database the URL names if it does not exist yet. Returns true if it created it. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const name = databaseName(url);
  return withClient(maintenanceUrl(url), async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await c.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
    } catch (err) {
      // Two loaders racing on the same name: the other one won, which is what we wanted.
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  });
}

/** Drops the database (terminating its sessions first). For tests' teardown. */
export async function dropDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  await withClient(maintenanceUrl(url), async (c) => {
    await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    await c.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)}`);
  });
}

/** Same server and same database? (A queue "database" given as the primary's URL is the primary.) */
export function sameDatabase(a: string, b: string): boolean {
  const ua = new URL(a);
  const ub = new URL(b);
  return (
    ua.hostname === ub.hostname && (ua.port || '5432') === (ub.port || '5432') && databaseName(a) === databaseName(b)
  );
}
