/**
 * Which tables a reset truncates and which it keeps — decided the same way by the plan and, just
 * before the TRUNCATE, by the reset step, so the truncation can prove it does what the plan showed.
 */
import type { Client } from 'pg';
import { digestOf } from './digest';
import type { ForeignKeyEdge } from '../../contract';
import { countRowsOf, listForeignKeys, listTables, matchesName, qualified, schemasOf, type TableRef } from './postgres';
import type { DatabaseHandle } from './target';

export interface TableDecision {
  database: string;
  truncate: TableRef[];
  keep: TableRef[];
  foreignKeys: ForeignKeyEdge[];
  errors: string[];
}

/** Every table of one database's decision counted, keyed "<database>/<schema>.<table>" (one statement: countRowsOf). */
export async function countDecision(c: Client, d: TableDecision): Promise<Record<string, number>> {
  const tables = [...d.truncate, ...d.keep];
  const counts = await countRowsOf(c, tables);
  return Object.fromEntries(tables.map((tb, i) => [`${d.database}/${qualified(tb)}`, counts[i]]));
}

export async function decideTables(c: Client, db: DatabaseHandle): Promise<TableDecision> {
  const schemas = await schemasOf(c, db);
  const tables = await listTables(c, schemas);
  const isKept = (t: TableRef) => db.keepTables.some((k) => matchesName(t, k));
  const keep = tables.filter(isKept);
  const truncate = tables.filter((t) => !isKept(t));
  const errors: string[] = [];
  for (const k of db.keepTables) {
    if (!['schema_migrations', 'ar_internal_metadata'].includes(k) && !tables.some((t) => matchesName(t, k))) {
      errors.push(
        `database "${db.name}": kept table "${k}" does not exist in schemas ${schemas.join(', ')}; check keepTables`,
      );
    }
  }
  const fks = await listForeignKeys(c, schemas);
  const truncated = new Set(truncate.map(qualified));
  const kept = new Set(keep.map(qualified));
  for (const fk of fks) {
    // TRUNCATE of a referenced table fails unless the referencing table goes too; with CASCADE it
    // would silently empty the kept table. Either way the plan cannot be carried out as shown.
    if (kept.has(qualified(fk.from)) && truncated.has(qualified(fk.to))) {
      errors.push(
        `database "${db.name}": kept table ${qualified(fk.from)} references truncated table ${qualified(fk.to)} (foreign key ${fk.name}); keep ${qualified(fk.to)} too, or stop keeping ${qualified(fk.from)}`,
      );
    }
    if (!schemas.includes(fk.from.schema) && truncated.has(qualified(fk.to))) {
      errors.push(
        `database "${db.name}": table ${qualified(fk.from)} outside the reset schemas references ${qualified(fk.to)} (foreign key ${fk.name}); add schema ${fk.from.schema} or keep ${qualified(fk.to)}`,
      );
    }
  }
  if (truncate.length === 0)
    errors.push(`database "${db.name}": no table to truncate in schemas ${schemas.join(', ')}`);
  return {
    database: db.name,
    truncate,
    keep,
    foreignKeys: fks.map((f) => ({ database: db.name, from: qualified(f.from), to: qualified(f.to), name: f.name })),
    errors,
  };
}

/** What an approval binds to: the databases and the exact sets of tables truncated and kept. */
export function decisiveParts(decisions: TableDecision[]) {
  return decisions.map((d) => ({
    database: d.database,
    truncate: d.truncate.map(qualified).sort(),
    keep: d.keep.map(qualified).sort(),
  }));
}

/** The digest the plan shows and the reset re-derives just before its TRUNCATE. */
export function planDigest(args: {
  target: string;
  databaseName: string;
  strategy: string;
  restartIdentity: boolean;
  decisions: TableDecision[];
}): string {
  return digestOf({
    target: args.target,
    databaseName: args.databaseName,
    strategy: args.strategy,
    restartIdentity: args.restartIdentity,
    tables: decisiveParts(args.decisions),
  });
}
