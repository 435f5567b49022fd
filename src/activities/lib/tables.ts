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

/**
 * An extra database that is another's own (the same server and database under a second URL) may reset
 * other schemas of it, not the same tables: the reset locks each database's tables on a session of its
 * own before it truncates any (activities/database.ts), and one table on two sessions would wait on itself.
 * `identities`: each database's server and name (advisory-lock.ts's lockKey), by logical name.
 */
export function sharedTables(
  decisions: TableDecision[],
  identities: Map<string, string>,
  schemasSetting: (database: string) => string,
): string[] {
  const errors: string[] = [];
  decisions.forEach((a, i) =>
    decisions.slice(i + 1).forEach((b) => {
      if (!identities.get(a.database) || identities.get(a.database) !== identities.get(b.database)) return;
      const theirs = new Set(b.truncate.map(qualified));
      const both = a.truncate.map(qualified).filter((x) => theirs.has(x));
      if (both.length)
        errors.push(
          `databases "${a.database}" and "${b.database}" are one database (the same server and name), and both would truncate ${both.slice(0, 3).join(', ')}${both.length > 3 ? ` and ${both.length - 3} more` : ''}: give them different schemas (${schemasSetting(a.database)}, ${schemasSetting(b.database)}), or remove "${b.database}" from extraDatabases`,
        );
    }),
  );
  return errors;
}
