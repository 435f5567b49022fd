/**
 * The plan's database part: what each database's tables become (truncated or kept, with their row
 * counts), the materialized views a replant leaves over emptied tables, and the primary's identity.
 */
import type { Client } from 'pg';
import type { MaterializedViewPlan, TablePlan } from '../contract';
import { materializedViewRows, materializedViewsOver } from './lib/matviews';
import { lockKey } from './lib/advisory-lock';
import { countRowsOf, qualified, tableExists, withClient } from './lib/postgres';
import { decideTables, sharedTables, type TableDecision } from './lib/tables';
import type { ResolvedTarget } from './lib/target';

export interface TablesPlan {
  tables: TablePlan[];
  decisions: TableDecision[];
  materializedViews: MaterializedViewPlan[];
  /** The primary's: its name, server version and Rails environment (ar_internal_metadata). */
  databaseName: string;
  environment: string | undefined;
  serverVersion: string;
  /** All databases together: what the backup folder must have room for. */
  databaseBytes: number;
  errors: string[];
}

/**
 * counting.exactCounts: count every table; otherwise a large table's estimate stands in for its count.
 * `decided` hears each database's decision as soon as it is made, before its tables are counted (the plan's
 * storage sample starts from the primary's).
 */
export async function planTables(
  t: ResolvedTarget,
  counting: { exactCounts: boolean; estimateAboveRows: number },
  decided?: (d: TableDecision) => void,
): Promise<TablesPlan> {
  const strategy = t.config.strategy.kind;
  const errors: string[] = [];
  const tables: TablePlan[] = [];
  const decisions: TableDecision[] = [];
  let databaseName = '';
  let environment: string | undefined;
  let serverVersion = '';
  let databaseBytes = 0;
  const materializedViews: MaterializedViewPlan[] = [];
  /** Which server and database each of the target's databases is (only asked when there are several). */
  const identities = new Map<string, string>();

  for (const db of t.databases) {
    await withClient(db, async (c) => {
      if (t.databases.length > 1) identities.set(db.name, (await lockKey(c)).key);
      const info = (
        await c.query<{ name: string; version: string; bytes: string }>(
          `SELECT current_database() AS name, current_setting('server_version') AS version, pg_database_size(current_database())::bigint AS bytes`,
        )
      ).rows[0];
      databaseBytes += Number(info.bytes);
      if (db.name === 'primary') {
        databaseName = info.name;
        serverVersion = info.version;
        if (await tableExists(c, 'ar_internal_metadata')) {
          const env = await c.query<{ value: string }>(
            `SELECT value FROM ar_internal_metadata WHERE key = 'environment'`,
          );
          environment = env.rows[0]?.value;
        }
      }
      const d = await decideTables(c, db);
      decisions.push(d);
      decided?.(d);
      const estimates = counting.exactCounts ? new Map<string, number>() : await rowEstimates(c);
      errors.push(...d.errors);
      const listed = [
        ...d.truncate.map((tb) => ({ tb, action: 'truncate' as const })),
        ...d.keep.map((tb) => ({ tb, action: 'keep' as const })),
      ].map(({ tb, action }) => {
        // A large table's count takes longer than the rest of the plan: its estimate says as much to a person.
        const estimate = counting.exactCounts ? undefined : estimates.get(qualified(tb));
        return {
          tb,
          action,
          estimate: estimate !== undefined && estimate >= counting.estimateAboveRows ? estimate : undefined,
        };
      });
      // The others counted exactly, all in one statement, in the listing's order.
      const counted = await countRowsOf(
        c,
        listed.filter((x) => x.estimate === undefined).map((x) => x.tb),
      );
      let next = 0;
      for (const x of listed)
        tables.push({
          database: db.name,
          schema: x.tb.schema,
          table: x.tb.table,
          ...(x.estimate !== undefined ? { rows: x.estimate, estimated: true } : { rows: counted[next++] }),
          action: x.action,
        });
      // A rebuild recreates the schema, views included; only a replant leaves views over emptied tables.
      if (strategy === 'replant') {
        for (const m of await materializedViewsOver(c, d.truncate)) {
          materializedViews.push({
            database: db.name,
            name: qualified(m),
            dependsOn: m.dependsOn,
            rows: await materializedViewRows(c, m),
            refresh: db.refreshMaterializedViews,
          });
        }
      }
    });
  }
  // Named as the targets file names them: the primary's settings, then each extra's by its place in the list.
  const schemasSetting = (name: string) => {
    const i = t.databases.findIndex((d) => d.name === name);
    return i <= 0 ? 'database.schemas' : `extraDatabases[${i - 1}].schemas`;
  };
  errors.push(...sharedTables(decisions, identities, schemasSetting));
  return { tables, decisions, materializedViews, databaseName, environment, serverVersion, databaseBytes, errors };
}

/** What a person approving the plan must know of each materialized view over a truncated table. */
export function materializedViewWarnings(materializedViews: MaterializedViewPlan[]): string[] {
  const warnings: string[] = [];
  for (const m of materializedViews) {
    const rows = `${m.rows} row${m.rows === 1 ? '' : 's'}`;
    const what = `materialized view ${m.name} (database "${m.database}", ${rows}) reads truncated table(s) ${m.dependsOn.join(', ')}`;
    warnings.push(
      m.refresh
        ? `${what}: the reset refreshes it after the seeds (REFRESH MATERIALIZED VIEW; database.refreshMaterializedViews: false turns this off)`
        : `${what}: it keeps its ${m.rows} old row${m.rows === 1 ? '' : 's'} after the reset, because database.refreshMaterializedViews is false; refresh it by hand afterwards`,
    );
  }
  return warnings;
}

/** pg_class.reltuples of every table of the connection's database ("schema.table"); -1 (never analysed) is left out. */
async function rowEstimates(c: Client): Promise<Map<string, number>> {
  const r = await c.query<{ schema: string; table: string; n: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, c.reltuples::bigint AS n
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.reltuples >= 0`,
  );
  return new Map(r.rows.map((x) => [qualified({ schema: x.schema, table: x.table }), Number(x.n)]));
}
