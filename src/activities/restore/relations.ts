/**
 * What the catalog says a restore loads: the members of the truncated tables' partition trees, the
 * sequences they own (serial and identity columns), and the foreign keys that touch them.
 */
import type { Client } from 'pg';
import { escapeIdentifier } from 'pg';
import { quoted, type TableRef } from '../lib/postgres';
import type { RestoreRelation, SequenceRelation } from './toc';

/**
 * Solid Queue's process registry and its claims describe the processes running now, not data: the
 * restore neither truncates nor loads them, so the live workers keep their own rows and no stale
 * heartbeat of a worker stopped before the reset comes back.
 */
export const LIVE_QUEUE_TABLES = ['solid_queue_processes', 'solid_queue_claimed_executions'];
export const isLiveQueueTable = (t: TableRef) => LIVE_QUEUE_TABLES.includes(t.table);

export interface ForeignKeyDef {
  table: string;
  name: string;
  def: string;
}

export interface RestoreCatalog {
  relations: RestoreRelation[];
  sequences: SequenceRelation[];
  foreignKeys: ForeignKeyDef[];
}

export async function readCatalog(c: Client, tables: TableRef[]): Promise<RestoreCatalog> {
  // Definitions fully qualified (they are replayed in psql, whose search_path pg_restore empties).
  await c.query(`SET search_path TO ''`);
  const members = await c.query<{
    root_schema: string;
    root: string;
    schema: string;
    name: string;
    oid: number;
    kind: string;
    owner: string;
  }>(
    `WITH roots AS (
       SELECT t.schema AS root_schema, t.name AS root, cl.oid, cl.relkind
         FROM unnest($1::text[], $2::text[]) AS t(schema, name)
         JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema
         JOIN pg_catalog.pg_class cl ON cl.relnamespace = n.oid AND cl.relname = t.name)
     SELECT r.root_schema, r.root, n.nspname AS schema, cl.relname AS name, cl.oid::int8 AS oid, cl.relkind AS kind,
            pg_catalog.pg_get_userbyid(cl.relowner) AS owner
       FROM roots r
       CROSS JOIN LATERAL (SELECT r.oid AS relid UNION SELECT pt.relid FROM pg_catalog.pg_partition_tree(r.oid) pt) m
       JOIN pg_catalog.pg_class cl ON cl.oid = m.relid
       JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
      ORDER BY 1, 2, 3, 4`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  const relations = members.rows.map((x) => ({
    schema: x.schema,
    name: x.name,
    oid: Number(x.oid),
    kind: x.kind,
    owner: x.owner,
    root: `${x.root_schema}.${x.root}`,
  }));
  const oids = relations.map((r) => r.oid);
  const seqs = await c.query<{ schema: string; name: string; owner: string }>(
    `SELECT DISTINCT sn.nspname AS schema, s.relname AS name, pg_catalog.pg_get_userbyid(s.relowner) AS owner
       FROM pg_catalog.pg_class s JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.oid
        AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')
      WHERE s.relkind = 'S' AND d.refobjid = ANY($1::oid[])
      ORDER BY 1, 2`,
    [oids],
  );
  // Top-level constraints only: those of partitions and of referenced partitions go with their parent's.
  const fks = await c.query<{ schema: string; tbl: string; name: string; def: string }>(
    `SELECT n.nspname AS schema, cl.relname AS tbl, con.conname AS name, pg_catalog.pg_get_constraintdef(con.oid) AS def
       FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class cl ON cl.oid = con.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
      WHERE con.contype = 'f' AND con.conparentid = 0 AND (con.conrelid = ANY($1::oid[]) OR con.confrelid = ANY($1::oid[]))
      ORDER BY 1, 2, 3`,
    [oids],
  );
  return {
    relations,
    sequences: seqs.rows,
    foreignKeys: fks.rows.map((x) => ({ table: quoted({ schema: x.schema, table: x.tbl }), name: x.name, def: x.def })),
  };
}

export const dropForeignKey = (f: ForeignKeyDef) =>
  `ALTER TABLE ${f.table} DROP CONSTRAINT ${escapeIdentifier(f.name)};`;
export const addForeignKey = (f: ForeignKeyDef) =>
  `ALTER TABLE ${f.table} ADD CONSTRAINT ${escapeIdentifier(f.name)} ${f.def};`;

/**
 * A table's rows as the restore loaded them: a partitioned table's whole tree, any other table only its own (not its
 * inheritance children's).
 */
export async function ownRows(c: Client, t: TableRef): Promise<number> {
  const kind = (
    await c.query<{ k: string }>(`SELECT relkind AS k FROM pg_catalog.pg_class WHERE oid = $1::regclass`, [quoted(t)])
  ).rows[0].k;
  const r = await c.query<{ n: string }>(
    `SELECT count(*)::bigint AS n FROM ${kind === 'p' ? '' : 'ONLY '}${quoted(t)}`,
  );
  return Number(r.rows[0].n);
}
