/**
 * Materialized views over truncated tables. A TRUNCATE does not touch them: without a refresh they
 * keep serving the old rows (1,000 loans over an empty table). The plan lists them, and the reset
 * refreshes them after the seeds, in dependency order (a view over another view comes after it).
 * Dependencies are read from the rewrite rules (pg_rewrite → pg_depend), followed through plain
 * views and other materialized views, and a partition counts as its partitioned root.
 */
import type { Client } from 'pg';
import { qualified, quoted, type TableRef } from './postgres';

export interface MaterializedView extends TableRef {
  populated: boolean;
  /** The truncated tables it reads, directly or through other views, schema.table, sorted. */
  dependsOn: string[];
}

interface Edge {
  vschema: string;
  vname: string;
  vkind: 'v' | 'm';
  populated: boolean;
  dschema: string;
  dname: string;
}

/** The materialized views that read any of `truncated`, in an order in which they can be refreshed. */
export async function materializedViewsOver(c: Client, truncated: TableRef[]): Promise<MaterializedView[]> {
  const r = await c.query<Edge>(
    `SELECT DISTINCT vn.nspname AS vschema, v.relname AS vname, v.relkind AS vkind, v.relispopulated AS populated,
            dn.nspname AS dschema, d.relname AS dname
       FROM pg_class v
       JOIN pg_namespace vn ON vn.oid = v.relnamespace
       JOIN pg_rewrite rw ON rw.ev_class = v.oid
       JOIN pg_depend dep ON dep.classid = 'pg_rewrite'::regclass AND dep.objid = rw.oid AND dep.refclassid = 'pg_class'::regclass
       JOIN pg_class d ON d.oid = COALESCE(pg_partition_root(dep.refobjid), dep.refobjid)
       JOIN pg_namespace dn ON dn.oid = d.relnamespace
      WHERE v.relkind IN ('v', 'm') AND dep.refobjid <> v.oid
        AND vn.nspname NOT IN ('pg_catalog', 'information_schema') AND vn.nspname NOT LIKE 'pg\\_%'`,
  );
  const reads = new Map<string, Set<string>>();
  const views = new Map<string, Edge>();
  for (const e of r.rows) {
    const v = `${e.vschema}.${e.vname}`;
    views.set(v, e);
    if (!reads.has(v)) reads.set(v, new Set());
    reads.get(v)!.add(`${e.dschema}.${e.dname}`);
  }
  const truncatedNames = new Set(truncated.map(qualified));

  // What each view reaches: truncated tables, and the materialized views on the way.
  const memo = new Map<string, { tables: Set<string>; matviews: Set<string> }>();
  const reach = (v: string, seen: Set<string> = new Set()): { tables: Set<string>; matviews: Set<string> } => {
    const known = memo.get(v);
    if (known) return known;
    const out = { tables: new Set<string>(), matviews: new Set<string>() };
    seen.add(v);
    for (const rel of reads.get(v) ?? []) {
      if (truncatedNames.has(rel)) out.tables.add(rel);
      if (!views.has(rel) || seen.has(rel)) continue;
      if (views.get(rel)!.vkind === 'm') out.matviews.add(rel);
      const sub = reach(rel, seen);
      sub.tables.forEach((x) => out.tables.add(x));
      sub.matviews.forEach((x) => out.matviews.add(x));
    }
    memo.set(v, out);
    return out;
  };

  const affected = [...views.values()]
    .filter((e) => e.vkind === 'm')
    .map((e) => `${e.vschema}.${e.vname}`)
    .filter((m) => reach(m).tables.size > 0);
  // Dependency order: a materialized view comes after every materialized view it reads.
  const ordered: string[] = [];
  const placed = new Set<string>();
  const place = (m: string) => {
    if (placed.has(m)) return;
    placed.add(m);
    for (const dep of [...reach(m).matviews].sort()) if (affected.includes(dep)) place(dep);
    ordered.push(m);
  };
  affected.sort().forEach(place);
  return ordered.map((m) => {
    const e = views.get(m)!;
    return { schema: e.vschema, table: e.vname, populated: e.populated, dependsOn: [...reach(m).tables].sort() };
  });
}

/** Rows a materialized view holds now; one never populated (WITH NO DATA) holds none and cannot be read. */
export async function materializedViewRows(c: Client, m: MaterializedView): Promise<number> {
  if (!m.populated) return 0;
  const r = await c.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${quoted(m)}`);
  return Number(r.rows[0].n);
}

export async function refreshMaterializedView(c: Client, m: MaterializedView): Promise<void> {
  await c.query(`REFRESH MATERIALIZED VIEW ${quoted(m)}`);
}
