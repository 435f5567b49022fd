/**
 * The advisory lock of reset-lock.ts: its key, and the session that holds it.
 *
 * Where the advisory lock's session lives: on the server's maintenance database ("postgres"), not on
 * the target database. A rebuild strategy's command drops and re-creates the target database, and
 * DROP DATABASE refuses while any session — our lock holder included — is connected to it. Advisory
 * locks are scoped to the database of the session that takes them, so every holder must take it in
 * the same place: every function of reset-lock.ts does, and the claim row is read and written on a short session
 * to the target that is closed before the step runs. After the step the claim row is made again if
 * it vanished (a dropped database takes its claim row with it), still under the advisory lock, so no
 * other run can claim the database in between. A server whose maintenance database this role may not
 * connect to (it does not exist, CONNECT is denied) gets the lock on the target database itself, as
 * before: the same answer for every worker using the same credentials; a rebuild then cannot drop the
 * database while the lock is held, and says so.
 */
import { Client } from 'pg';
import type { DatabaseHandle } from './target';

const APP = 'reset-runbook:lock';
export const MAINTENANCE_DATABASE = 'postgres';

export async function connect(url: string, appName = APP): Promise<Client> {
  const c = new Client({ connectionString: url, application_name: appName, connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
  } catch (err) {
    await c.end().catch(() => undefined);
    throw err;
  }
  return c;
}

/** The same server and credentials, on the maintenance database; undefined when the URL is not a URL. */
export function maintenanceUrl(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (!/^postgres(ql)?:$/.test(u.protocol)) return undefined;
    u.pathname = `/${MAINTENANCE_DATABASE}`;
    u.searchParams.delete('dbname');
    return u.toString();
  } catch {
    return undefined;
  }
}

/**
 * The session that takes the advisory lock (see the header): on the maintenance database, or undefined
 * when the maintenance database cannot be reached with these credentials and the target's own session
 * must take it instead. Callers open it while they connect to the target, and end it if unused.
 */
export async function openLockSession(db: DatabaseHandle): Promise<Client | undefined> {
  const url = maintenanceUrl(db.url);
  if (!url) return undefined;
  try {
    return await connect(url);
  } catch (err) {
    // 3D000: no such database; 42501: CONNECT denied; 28000: pg_hba.conf rejects it. Anything else is an outage:
    // retried.
    if (['3D000', '42501', '28000'].includes((err as { code?: string }).code ?? '')) return undefined;
    throw err;
  }
}

export async function unlockAndEnd(m: Client, key: string, c: Client): Promise<void> {
  // Ending the session releases its advisory lock; unlock first so a pooled proxy (pgbouncer) lets go too.
  await m.query(`SELECT pg_advisory_unlock($1::bigint)`, [key]).catch(() => undefined);
  if (m !== c) await m.end().catch(() => undefined);
}

/** The advisory lock's key: this server (system identifier) and database; stable for every URL naming it. */
export async function lockKey(c: Client): Promise<{ key: string; database: string }> {
  const name = (await c.query<{ d: string }>(`SELECT current_database() AS d`)).rows[0].d;
  // pg_control_system() may be denied to a non-superuser role; the server's address is then the next best name.
  const sys = await c
    .query<{ s: string }>(`SELECT system_identifier::text AS s FROM pg_control_system()`)
    .then((r) => r.rows[0].s)
    .catch(
      async () =>
        (
          await c.query<{ s: string }>(
            `SELECT coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0) AS s`,
          )
        ).rows[0].s,
    );
  const key = (
    await c.query<{ k: string }>(`SELECT ('x' || substr(md5($1), 1, 16))::bit(64)::bigint::text AS k`, [
      `reset-runbook/${sys}/${name}`,
    ])
  ).rows[0].k;
  return { key, database: name };
}

export async function tryAdvisory(c: Client, key: string): Promise<boolean> {
  return (await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1::bigint) AS ok`, [key])).rows[0].ok;
}
