/**
 * Issue 8 — undo a reset: restore the backup a reset run took, in one transaction per database, and
 * bring back the objects its purge quarantined.
 *
 * Why a data-only restore of the truncated tables (after a TRUNCATE in the same transaction) and not
 * `pg_restore --clean --single-transaction`: the reset changed exactly the truncated tables (and
 * their sequences), so the undo touches exactly those. --clean would drop and recreate every object
 * of the database — the kept tables, schema_migrations, anything a migration changed since the
 * backup — and reorder nothing the reset did. The price is foreign keys: a full archive's data is not
 * in dependency order (pg_dump sorts it only for data-only dumps), and disabling the FK triggers needs
 * a superuser. So the transaction drops the foreign keys of the truncated tables, TRUNCATEs them,
 * COPYs the backup's rows and sets their sequences (pg_restore --data-only, filtered to the tables'
 * TABLE DATA and their owned sequences' SEQUENCE SET), then adds the foreign keys back, which checks
 * every row. Any error, or a worker killed midway, rolls the whole database back to where it was.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { escapeIdentifier, type Client } from 'pg';
import { libpqEnv } from '../backup';
import type { LocalArchive } from '../lib/backup-source';
import { crashPoint } from '../lib/faults';
import { cancellation, cancelledFailure, throwIfCancelled } from '../lib/keepalive';
import { materializedViewsOver, refreshMaterializedView } from '../lib/matviews';
import { qualified, quoted, withClient } from '../lib/postgres';
import { killGroup, redact, spawnGuarded } from '../lib/shell';
import { type TableDecision } from '../lib/tables';
import { type DatabaseHandle, type ResolvedTarget } from '../lib/target';

/** What psql prints after COMMIT: proof that it read the whole script (an empty stdin also exits 0). */
const COMMITTED = 'reset-runbook: restore committed';

/** psql beside pg_restore when that is a path (same PostgreSQL installation), else from PATH. */
function psqlFor(pgRestore: string): string {
  return pgRestore.includes('/') ? path.join(path.dirname(pgRestore), 'psql') : 'psql';
}

/** `src`: the backup as a checked, seekable file (backup-source.ts verifiedLocalCopy). */
export async function restoreInOneTransaction(t: ResolvedTarget, db: DatabaseHandle, src: LocalArchive, d: TableDecision, onBytes: (n: number) => void): Promise<void> {
  const pgRestore = t.config.backup.pgRestore ?? 'pg_restore';
  const truncated = new Set(d.truncate.map(qualified));
  const { fks, sequences } = await withClient(db, async (c) => ({ fks: await foreignKeysOf(c, truncated), sequences: await ownedSequences(c, truncated) }));
  const toc = await collect(pgRestore, ['--list', src.path], db);
  const wanted = toc.split('\n').filter((l) => {
    const m = /^\d+; \d+ \d+ (TABLE DATA|SEQUENCE SET) (\S+) (\S+) /.exec(l);
    return m && (m[1] === 'TABLE DATA' ? truncated.has(`${m[2]}.${m[3]}`) : sequences.has(`${m[2]}.${m[3]}`));
  });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-restore-'));
  const listFile = path.join(tmp, 'toc.list');
  fs.writeFileSync(listFile, wanted.join('\n') + '\n', { mode: 0o600 });
  const lockMs = Math.round(t.config.timing.lockTimeoutSeconds * 1000);
  const header = [
    'BEGIN;',
    `SET LOCAL lock_timeout = '${lockMs}ms';`,
    ...fks.map((f) => `ALTER TABLE ${f.table} DROP CONSTRAINT ${escapeIdentifier(f.name)};`),
    `TRUNCATE TABLE ${d.truncate.map(quoted).join(', ')};`,
    '',
  ].join('\n');
  const footer = ['', ...fks.map((f) => `ALTER TABLE ${f.table} ADD CONSTRAINT ${escapeIdentifier(f.name)} ${f.def};`), 'COMMIT;', `\\echo ${COMMITTED}`, ''].join('\n');
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const env = libpqEnv(db.url);
  const psql = spawnGuarded(psqlFor(pgRestore), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { env, stdin: true });
  const restore = spawnGuarded(pgRestore, ['--data-only', '--no-owner', '-L', listFile, '-f', '-', src.path], { env });
  const kill = () => {
    killGroup(restore);
    killGroup(psql);
  };
  cancel?.addEventListener('abort', kill, { once: true });
  let psqlErr = '';
  let restoreErr = '';
  psql.stdout!.on('data', (b: Buffer) => (psqlErr = (psqlErr + b.toString()).slice(-4096)));
  psql.stderr!.on('data', (b: Buffer) => (psqlErr = (psqlErr + b.toString()).slice(-4096)));
  restore.stderr!.on('data', (b: Buffer) => (restoreErr = (restoreErr + b.toString()).slice(-4096)));
  psql.stdin!.on('error', () => undefined); // psql stopped at an error: its exit code says so
  const psqlExit = new Promise<number | null>((resolve) => psql.on('close', resolve).on('error', () => resolve(127)));
  const restoreExit = new Promise<number | null>((resolve) => restore.on('close', resolve).on('error', () => resolve(127)));
  try {
    psql.stdin!.write(header);
    let bytes = 0;
    restore.stdout!.on('data', (b: Buffer) => {
      bytes += b.length;
      onBytes(bytes);
      // Rows are on their way into the open transaction: a crash here must roll it all back.
      crashPoint('restore.loading');
    });
    restore.stdout!.pipe(psql.stdin!, { end: false });
    const rc = await restoreExit;
    if (rc === 0 && !cancel?.aborted) psql.stdin!.end(footer);
    else killGroup(psql); // no COMMIT is ever sent: the server rolls the transaction back
    const pc = await psqlExit;
    if (cancel?.aborted) throw cancelledFailure(cancel);
    const secrets = [db.url];
    if (rc !== 0) throw new Error(`pg_restore of ${src.where} into database "${db.name}" exited with code ${rc}: ${redact(restoreErr.trim(), secrets)}. Rolled back; nothing was changed.`);
    if (pc === 0 && !psqlErr.includes(COMMITTED))
      throw new Error(`Restoring ${src.where} into database "${db.name}": psql ended without reaching COMMIT (${redact(psqlErr.trim(), secrets) || 'no output'}).`);
    if (pc !== 0) throw new Error(`Restoring ${src.where} into database "${db.name}" failed (psql exit ${pc}): ${redact(psqlErr.trim(), secrets)}. Rolled back; nothing was changed.`);
  } catch (err) {
    kill();
    throw err;
  } finally {
    cancel?.removeEventListener('abort', kill);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Foreign keys declared on the truncated tables, with fully qualified definitions (search_path empty). */
async function foreignKeysOf(c: Client, truncated: Set<string>): Promise<{ table: string; name: string; def: string }[]> {
  await c.query(`SET search_path TO ''`);
  const r = await c.query<{ schema: string; tbl: string; name: string; def: string }>(
    `SELECT n.nspname AS schema, cl.relname AS tbl, con.conname AS name, pg_get_constraintdef(con.oid) AS def
       FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class cl ON cl.oid = con.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
      WHERE con.contype = 'f' ORDER BY 1, 2, 3`,
  );
  return r.rows.filter((x) => truncated.has(`${x.schema}.${x.tbl}`)).map((x) => ({ table: quoted({ schema: x.schema, table: x.tbl }), name: x.name, def: x.def }));
}

/** Sequences owned by (serial / identity columns of) the truncated tables, schema.name. */
async function ownedSequences(c: Client, truncated: Set<string>): Promise<Set<string>> {
  const r = await c.query<{ seq: string; tbl: string }>(
    `SELECT sn.nspname || '.' || s.relname AS seq, tn.nspname || '.' || tb.relname AS tbl
       FROM pg_catalog.pg_class s JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.oid
        AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')
       JOIN pg_catalog.pg_class tb ON tb.oid = d.refobjid JOIN pg_catalog.pg_namespace tn ON tn.oid = tb.relnamespace
      WHERE s.relkind = 'S'`,
  );
  return new Set(r.rows.filter((x) => truncated.has(x.tbl)).map((x) => x.seq));
}

export async function refreshViews(db: DatabaseHandle, d: TableDecision): Promise<void> {
  if (!db.refreshMaterializedViews) return;
  await withClient(db, async (c) => {
    for (const m of await materializedViewsOver(c, d.truncate)) await refreshMaterializedView(c, m);
  });
}

/** A command's whole stdout (pg_restore --list: one line per archive entry). */
function collect(file: string, args: string[], db: DatabaseHandle): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnGuarded(file, args, { env: libpqEnv(db.url) });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2048)));
    child.on('error', (e) => reject(new Error(`cannot run ${file}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} ${args[0]} exited with code ${code}: ${err.trim()}`))));
  });
}
