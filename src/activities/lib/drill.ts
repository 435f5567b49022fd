/**
 * The restore drill (backup.verify "restore"): a backup is proven only by restoring it. The fresh
 * dump is restored into a scratch database on the same server (`<database>_rr_drill_<id>`, created
 * from template0, dropped at the end whatever happens), and every table's row count there must equal
 * the source's.
 *
 * Why the comparison is exact, not "about the same": pg_dump is given the snapshot of a REPEATABLE
 * READ transaction (`pg_export_snapshot()`, `pg_dump --snapshot`), and the source's tables are counted
 * in that same transaction, while the dump runs. Both see the database at the same instant, however
 * busy it is. `pg_restore --list` only reads the table of contents: a file that passes it may still
 * fail to restore (a missing role, an extension, a truncated data block), which only this finds.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { escapeIdentifier, type Client } from 'pg';
import type { DrillDatabase } from '../../contract';
import type { LocalArchive } from './backup-source';
import { libpqEnv } from './child-env';
import { realPgClient } from './deps';
import { cancellation, cancelledFailure, throwIfCancelled } from './keepalive';
import { withClient } from './postgres';
import { redactText } from './secrets';
import { killGroup, spawnGuarded } from './shell';
import type { DatabaseHandle } from './target';

/**
 * Every table that holds rows pg_dump dumps: ordinary tables (leaf partitions too) outside the system schemas, not an
 * extension's.
 */
const TABLES_SQL = `SELECT n.nspname AS schema, c.relname AS name
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, 2`;

/** schema.table → rows, counted with ONLY (an inheritance parent's own rows, as pg_dump dumps them). */
async function countTables(c: Client, stopped = () => false): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of (await c.query<{ schema: string; name: string }>(TABLES_SQL)).rows) {
    throwIfCancelled();
    if (stopped()) throw new Error('counting stopped: the dump failed');
    const r = await c.query<{ n: string }>(
      `SELECT count(*)::bigint AS n FROM ONLY ${escapeIdentifier(t.schema)}.${escapeIdentifier(t.name)}`,
    );
    out.set(`${t.schema}.${t.name}`, Number(r.rows[0].n));
  }
  return out;
}

/**
 * Runs `dump` with pg_dump's snapshot arguments while the source's tables are counted in the very
 * transaction that exported that snapshot (kept open until both are done).
 */
export function withSourceSnapshot<T>(
  db: DatabaseHandle,
  dump: (snapshotArgs: string[]) => Promise<T>,
): Promise<{ dumped: T; counts: Map<string, number> }> {
  return withClient(
    db,
    async (c) => {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const snapshot = (await c.query<{ s: string }>('SELECT pg_catalog.pg_export_snapshot() AS s')).rows[0].s;
        let failed = false;
        const counting = countTables(c, () => failed);
        counting.catch(() => undefined); // awaited below, once the dump is done
        const dumped = await dump(['--snapshot', snapshot]).catch((err: unknown) => {
          failed = true; // a failed dump's error need not wait for every table to be counted
          throw err;
        });
        return { dumped, counts: await counting };
      } finally {
        await c.query('ROLLBACK').catch(() => undefined);
      }
    },
    'reset-runbook:drill-snapshot',
  );
}

/** The scratch database's URL: the target's, another database name. */
function urlOf(db: DatabaseHandle, name: string): string {
  const u = new URL(db.url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

const DRILL_INFIX = '_rr_drill_';

/**
 * Restores `archive` into a new scratch database beside `db`, counts its tables and compares them with
 * `source`; drops the scratch database at the end (also on failure and cancellation). Throws
 * DrillFailed (counts differ, pg_restore failed) or DrillRefused (the scratch database cannot be made).
 */
export async function restoreDrill(
  target: string,
  db: DatabaseHandle,
  archive: LocalArchive,
  source: Map<string, number>,
  pgRestore: string,
): Promise<DrillDatabase> {
  const what = `Restore drill of target "${target}", database "${db.name}" (backup ${archive.where})`;
  const { name, dropForce } = await withClient(db, async (c) => {
    const r = await c.query<{ d: string; v: string }>(
      `SELECT current_database() AS d, current_setting('server_version_num') AS v`,
    );
    return { name: r.rows[0].d, dropForce: Number(r.rows[0].v) >= 130000 };
  });
  const drop = async (c: Client, scratch: string) =>
    c.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(scratch)}${dropForce ? ' WITH (FORCE)' : ''}`);
  // Identifiers are at most 63 bytes: a long database name is shortened, whole characters only.
  let base = name;
  while (Buffer.byteLength(base) > 63 - DRILL_INFIX.length - 6) base = base.slice(0, -1);
  const prefix = `${base}${DRILL_INFIX}`;
  const scratch = `${prefix}${randomBytes(3).toString('hex')}`;
  await withClient(db, async (c) => {
    // A worker killed during an earlier drill of this database left its scratch database: drills of one target never
    // overlap.
    const stale = await c.query<{ d: string }>(
      `SELECT datname AS d FROM pg_catalog.pg_database WHERE starts_with(datname, $1)`,
      [prefix],
    );
    for (const s of stale.rows) await drop(c, s.d);
    try {
      await c.query(`CREATE DATABASE ${escapeIdentifier(scratch)} TEMPLATE template0`);
    } catch (err) {
      const e = err as { code?: string; message: string };
      throw ApplicationFailure.nonRetryable(
        `${what}: cannot create the scratch database "${scratch}" on the same server: ${e.message}${e.code === '42501' ? ' (the database user lacks CREATEDB: ALTER ROLE … CREATEDB)' : ''}. Grant it, or set backup.verify to "list" (the backup is then only read by pg_restore --list, not proven restorable). The source database was not changed.`,
        'DrillRefused',
      );
    }
  });
  const started = Date.now();
  try {
    await runPgRestore(pgRestore, urlOf(db, scratch), scratch, archive, [db.url], what);
    const scratchDb: DatabaseHandle = { ...db, url: urlOf(db, scratch) };
    const restored = await withClient(scratchDb, countTables, 'reset-runbook:drill-count');
    const tables = [...new Set([...source.keys(), ...restored.keys()])]
      .sort()
      .map((table) => ({ table, source: source.get(table) ?? -1, restored: restored.get(table) ?? -1 }));
    const differ = tables.filter((x) => x.source !== x.restored);
    if (differ.length) {
      const says = (n: number) => (n < 0 ? 'no such table' : `${n} rows`);
      throw ApplicationFailure.nonRetryable(
        `${what}: ${differ.length} of ${tables.length} tables differ from the source after pg_restore into "${scratch}": ${differ
          .slice(0, 10)
          .map((x) => `${x.table} source ${says(x.source)}, restored ${says(x.restored)}`)
          .join(
            '; ',
          )}${differ.length > 10 ? '; …' : ''}. The backup is not proven restorable; the scratch database was dropped. Find why the restore loses rows before trusting a backup of this database.`,
        'DrillFailed',
      );
    }
    return {
      database: db.name,
      scratch,
      tables,
      rows: tables.reduce((a, x) => a + x.source, 0),
      restoreSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    // Not cancellable: the scratch database goes whatever ended the drill.
    await withDroppable(db, async (c) => drop(c, scratch)).catch((err: Error) => {
      throw new Error(
        `${what}: the scratch database "${scratch}" could not be dropped (${err.message}): drop it by hand with DROP DATABASE ${escapeIdentifier(scratch)}.`,
      );
    });
  }
}

/** A plain client for the final DROP: withClient would refuse on an activity already cancelled. */
async function withDroppable<T>(db: DatabaseHandle, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = (db.connect ?? realPgClient)({
    connectionString: db.url,
    application_name: 'reset-runbook:drill-drop',
    connectionTimeoutMillis: 10_000,
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** pg_restore of the whole archive into the scratch database; stops at the first error. */
function runPgRestore(
  pgRestore: string,
  url: string,
  scratch: string,
  archive: LocalArchive,
  secrets: string[],
  what: string,
): Promise<void> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  return new Promise((resolve, reject) => {
    // A parallel dump's folder restores in parallel too (into a database, which the drill's is).
    const jobs = archive.jobs && archive.jobs > 1 ? ['-j', String(archive.jobs)] : [];
    const child = spawnGuarded(
      pgRestore,
      ['--no-owner', '--exit-on-error', ...jobs, '--dbname', scratch, archive.path],
      {
        env: libpqEnv(url),
      },
    );
    const onCancel = () => killGroup(child);
    cancel?.addEventListener('abort', onCancel, { once: true });
    let stderr = '';
    child.stdout!.resume();
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4096)));
    child.on('error', (err) =>
      reject(ApplicationFailure.nonRetryable(`cannot run ${pgRestore}: ${err.message}`, 'DrillFailed')),
    );
    child.on('close', (code) => {
      cancel?.removeEventListener('abort', onCancel);
      if (cancel?.aborted) return reject(cancelledFailure(cancel));
      if (code === 0) return resolve();
      reject(
        ApplicationFailure.nonRetryable(
          `${what}: pg_restore into the scratch database failed (exit ${code}): ${redactText(stderr.trim(), [...secrets, url]) || 'no output'}. The backup is not proven restorable; the scratch database was dropped.`,
          'DrillFailed',
        ),
      );
    });
  });
}
