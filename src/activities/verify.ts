/**
 * Step 6 — verify: count rows against the target's expectations and print them exactly as the
 * runbook does (`Users: 6`), plus the accounts the seeds created, for the handoff check: how many and
 * of which roles only. Logins (e-mails) stay out: the result is in history, readable by everyone
 * with Web UI access.
 */
import type { Client } from 'pg';
import type { ExpectedCount } from '../config/types';
import type { AccountsSummary, VerifyLine } from '../contract';
import { crashPoint } from './lib/faults';
import { withKeepalive } from './lib/keepalive';
import { withClient } from './lib/postgres';
import { databaseByName, resolveTarget, type ActivityDeps } from './lib/target';
import { escapeIdentifier } from 'pg';

export interface VerifyReport {
  ok: boolean;
  lines: VerifyLine[];
  /** The runbook's expected-output form, one `Label: count` per line. */
  report: string;
  hints: string[];
  accounts: AccountsSummary;
}

export function createVerifyActivities(deps: ActivityDeps) {
  return {
    async verifyCounts(args: { target: string }): Promise<VerifyReport> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async () => {
        const expect = t.config.verify?.expect ?? [];
        const actual = new Map<ExpectedCount, number>();
        // One connection per database for all its counts (the primary's also reads the accounts), the
        // databases at once: a connection per count was most of this step's time.
        const names = [...new Set([t.primary.name, ...expect.map((e) => databaseByName(t, e.database).name)])];
        let accounts: AccountsSummary | undefined;
        await Promise.all(
          names.map((name) =>
            withClient(databaseByName(t, name), async (c) => {
              for (const e of expect.filter((x) => databaseByName(t, x.database).name === name))
                actual.set(e, await countTable(c, e.table));
              if (name === t.primary.name) accounts = await readAccounts(c);
            }),
          ),
        );
        const lines: VerifyLine[] = expect.map((e) => ({
          label: e.label,
          table: e.table,
          database: databaseByName(t, e.database).name,
          expected: describe(e),
          actual: actual.get(e)!,
          ok: within(e, actual.get(e)!),
        }));
        const hints = lines
          .filter((l) => !l.ok && l.expected === '0')
          .map(
            (l) =>
              `${l.label}: expected 0, found ${l.actual}. The seeds probably still create demo data (the runbook's note: sections 3-12 of db/seeds.rb); remove those sections for a blank handoff.`,
          );
        for (const l of lines.filter((x) => !x.ok && x.expected !== '0'))
          hints.push(`${l.label}: expected ${l.expected}, found ${l.actual}. Check the seeds.`);
        crashPoint('verify.done');
        return {
          ok: lines.every((l) => l.ok),
          lines,
          report: lines.map((l) => `${l.label}: ${l.actual}`).join('\n'),
          hints,
          accounts: accounts!,
        };
      });
    },
  };
}

async function countTable(c: Client, table: string): Promise<number> {
  const ident = table.split('.').map(escapeIdentifier).join('.');
  return Number((await c.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${ident}`)).rows[0].n);
}

function describe(e: ExpectedCount): string {
  if (e.count !== undefined) return String(e.count);
  return `${e.min ?? 0}..${e.max ?? '∞'}`;
}

function within(e: ExpectedCount, n: number): boolean {
  if (e.count !== undefined) return n === e.count;
  return n >= (e.min ?? 0) && n <= (e.max ?? Infinity);
}

/** The users table's accounts by role (no logins read at all); "(none)" for a users table without a role. */
async function readAccounts(c: Client): Promise<AccountsSummary> {
  const cols = await c.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND table_schema = ANY(current_schemas(false))`,
  );
  if (!cols.rows.length) return { count: 0, roles: {} };
  const have = new Set(cols.rows.map((r) => r.column_name));
  const role = have.has('role') ? `coalesce(${escapeIdentifier('role')}::text, '(none)')` : `'(none)'`;
  const r = await c.query<{ role: string; n: string }>(
    `SELECT ${role} AS role, count(*)::bigint AS n FROM users GROUP BY 1 ORDER BY 1`,
  );
  const roles: Record<string, number> = {};
  for (const row of r.rows) roles[row.role] = Number(row.n);
  return { count: Object.values(roles).reduce((a, b) => a + b, 0), roles };
}
