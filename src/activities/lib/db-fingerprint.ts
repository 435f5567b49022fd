/**
 * What a database is, physically, at one moment: its oid, and each table's oid, data file
 * (relfilenode) and rows. Taken before a rebuild command runs and compared after it fails, it tells
 * whether the command touched anything: DROP/CREATE DATABASE changes the database's oid; DROP/CREATE
 * TABLE and TRUNCATE change a table's oid or data file; INSERT, UPDATE and DELETE change its row count
 * or the newest row version (max xmin). Solid Queue's own tables are compared by their files only:
 * the workers, started again while the run waits, write rows there by themselves.
 */
import type { Client } from 'pg';
import { LOCK_SCHEMA } from './reset-lock';
import { quoted, withClient } from './postgres';
import type { DatabaseHandle, ResolvedTarget } from './target';

export interface DatabaseFingerprint {
  /** The handle's name ("primary", "queue", …). */
  database: string;
  /** current_database(); empty when the database did not exist. */
  name: string;
  /** pg_database.oid; "" when the database did not exist. */
  oid: string;
  /** "schema.table" → "oid/relfilenode" or "oid/relfilenode/rows/max xmin". */
  tables: Record<string, string>;
}

const ROWS_NOT_COMPARED = /^solid_queue_/;

export async function fingerprint(t: ResolvedTarget): Promise<DatabaseFingerprint[]> {
  const out: DatabaseFingerprint[] = [];
  for (const db of t.databases) out.push(await fingerprintOf(db));
  return out;
}

async function fingerprintOf(db: DatabaseHandle): Promise<DatabaseFingerprint> {
  try {
    return await withClient(db, (c) => read(c, db.name), 'reset-runbook:fingerprint');
  } catch (err) {
    // 3D000: the database does not exist (dropped and not re-created). Anything else cannot be judged.
    if ((err as { code?: string }).code === '3D000') return { database: db.name, name: '', oid: '', tables: {} };
    throw err;
  }
}

async function read(c: Client, database: string): Promise<DatabaseFingerprint> {
  const me = (
    await c.query<{ name: string; oid: string }>(
      `SELECT datname AS name, oid::text AS oid FROM pg_database WHERE datname = current_database()`,
    )
  ).rows[0];
  const rels = await c.query<{ schema: string; table: string; id: string; file: string; kind: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, c.oid::text AS id, c.relfilenode::text AS file, c.relkind::text AS kind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', $1) AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
      ORDER BY 1, 2`,
    [LOCK_SCHEMA],
  );
  const tables: Record<string, string> = {};
  for (const r of rels.rows) {
    let v = `${r.id}/${r.file}`;
    if (r.kind === 'r' && !ROWS_NOT_COMPARED.test(r.table)) {
      const x = (
        await c.query<{ n: string; x: string | null }>(
          `SELECT count(*)::text AS n, max(xmin::text::bigint)::text AS x FROM ONLY ${quoted(r)}`,
        )
      ).rows[0];
      v += `/${x.n}/${x.x ?? ''}`;
    }
    tables[`${r.schema}.${r.table}`] = v;
  }
  return { database, name: me.name, oid: me.oid, tables };
}

/**
 * What differs between two fingerprints of the same target, one line per database that changed; [] when nothing did.
 */
export function differences(before: DatabaseFingerprint[], after: DatabaseFingerprint[]): string[] {
  const out: string[] = [];
  for (const b of before) {
    const a = after.find((x) => x.database === b.database);
    const label = `database "${b.database}" (${b.name || 'missing'})`;
    if (!a || b.oid !== a.oid) {
      if (!b.oid && a && !a.oid) continue;
      out.push(
        !a?.oid
          ? `${label} no longer exists (dropped)`
          : !b.oid
            ? `${label} was created (it did not exist before)`
            : `${label} was dropped and re-created (oid ${b.oid} → ${a.oid})`,
      );
      continue;
    }
    const names = [...new Set([...Object.keys(b.tables), ...Object.keys(a.tables)])].sort();
    const gone = names.filter((n) => !(n in a.tables));
    const added = names.filter((n) => !(n in b.tables));
    const both = names.filter((n) => n in a.tables && n in b.tables);
    const remade = both.filter(
      (n) => b.tables[n].split('/').slice(0, 2).join('/') !== a.tables[n].split('/').slice(0, 2).join('/'),
    );
    const rows = both.filter((n) => !remade.includes(n) && b.tables[n] !== a.tables[n]);
    const parts: string[] = [];
    if (gone.length) parts.push(`tables dropped: ${list(gone)}`);
    if (added.length) parts.push(`tables created: ${list(added)}`);
    if (remade.length) parts.push(`tables re-created or truncated: ${list(remade)}`);
    if (rows.length) parts.push(`rows changed in: ${list(rows)}`);
    if (parts.length) out.push(`${label}: ${parts.join('; ')}`);
  }
  return out;
}

/** What an unchanged fingerprint means, for an operator. */
export function sameAsBefore(before: DatabaseFingerprint[]): string {
  return before
    .map((b) =>
      b.oid
        ? `database "${b.database}" (${b.name}, oid ${b.oid}) and its ${Object.keys(b.tables).length} tables are as they were (same data files, same rows)`
        : `database "${b.database}" still does not exist`,
    )
    .join('; ');
}

function list(names: string[]): string {
  return names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
}
