/** Counting the restored tables against the backup's counts. */
import { withKeepalive } from '../lib/keepalive';
import { countRows, withClient } from '../lib/postgres';
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
      Object.entries(args.expected).filter(([k]) => !(args.workersRunning && /\.solid_queue_[^/]*$/.test(k))),
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
  const mismatches: string[] = [];
  for (const [k, want] of Object.entries(expected)) {
    // Solid Queue's process registry is not data: the backup holds the processes alive when it was
    // taken, countsBefore none (the workers had been stopped, and deregistered, before the TRUNCATE).
    if (/\.solid_queue_processes$/.test(k)) continue;
    const [dbName, table] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    const [schema, name] = [table.slice(0, table.indexOf('.')), table.slice(table.indexOf('.') + 1)];
    const actual = await withClient(databaseByName(t, dbName), (c) => countRows(c, { schema, table: name }));
    lines.push(`${k}: ${actual}`);
    if (actual !== want) mismatches.push(`${k}: ${actual}, the backup held ${want}`);
  }
  return mismatches;
}
