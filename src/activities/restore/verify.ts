/** Counting the restored tables against the backup's counts. */
import { withKeepalive } from '../lib/keepalive';
import { countRowsOf, withClient, type TableRef } from '../lib/postgres';
import { databaseByName, resolveTarget, type ActivityDeps, type ResolvedTarget } from '../lib/target';

/**
 * After the workers started: every table's count against the backup's, except Solid Queue's own
 * tables when the workers run (they write their process rows and run jobs at once); those were
 * compared by the restore step, right after its COMMIT, before the workers started.
 */
export async function verifyRestore(
  deps: ActivityDeps,
  args: { target: string; expected: Record<string, number>; workersRunning: boolean },
): Promise<{ ok: boolean; report: string; mismatches: string[] }> {
  const t = resolveTarget(deps, args.target);
  return withKeepalive(async () => {
    const expected = Object.fromEntries(
      Object.entries(args.expected).filter(([k]) => !(args.workersRunning && QUEUE_TABLE.test(k))),
    );
    const lines: string[] = [];
    const mismatches = await compareCounts(t, expected, lines);
    return { ok: mismatches.length === 0, report: lines.join('\n'), mismatches };
  });
}

export const QUEUE_TABLE = /\.solid_queue_[^/]*$/;

export async function compareCounts(
  t: ResolvedTarget,
  expected: Record<string, number>,
  lines: string[] = [],
): Promise<string[]> {
  // Solid Queue's process registry is not data: the backup holds the processes alive when it was
  // taken, countsBefore none (the workers had been stopped, and deregistered, before the TRUNCATE).
  const keys = Object.keys(expected).filter((k) => !/\.solid_queue_processes$/.test(k));
  const actual = new Map<string, number>();
  // Each database's tables in one statement (countRowsOf), on one session.
  const byDatabase = new Map<string, { k: string; tb: TableRef }[]>();
  for (const k of keys) {
    const [dbName, table] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    const tb = { schema: table.slice(0, table.indexOf('.')), table: table.slice(table.indexOf('.') + 1) };
    if (!byDatabase.has(dbName)) byDatabase.set(dbName, []);
    byDatabase.get(dbName)!.push({ k, tb });
  }
  for (const [dbName, list] of byDatabase) {
    const tables = list.map((x) => x.tb);
    const counts = await withClient(databaseByName(t, dbName), (c) => countRowsOf(c, tables));
    list.forEach((x, i) => actual.set(x.k, counts[i]));
  }
  const mismatches: string[] = [];
  for (const k of keys) {
    const [got, want] = [actual.get(k)!, expected[k]];
    lines.push(`${k}: ${got}`);
    if (got !== want) mismatches.push(`${k}: ${got}, the backup held ${want}`);
  }
  return mismatches;
}
