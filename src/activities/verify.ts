/**
 * Step 6 — verify: count rows against the target's expectations and print them exactly as the
 * runbook does (`Users: 6`), plus the accounts the seeds created, for the handoff check — login and
 * role only, never a password digest.
 */
import type { Client } from 'pg';
import type { ExpectedCount } from '../config/types';
import type { VerifyLine } from '../workflows/definitions';
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
  accounts: { login: string; role: string }[];
}

export function createVerifyActivities(deps: ActivityDeps) {
  return {
    async verifyCounts(args: { target: string }): Promise<VerifyReport> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async () => {
        const lines: VerifyLine[] = [];
        for (const e of t.config.verify?.expect ?? []) {
          const db = databaseByName(t, e.database);
          const actual = await withClient(db, (c) => countTable(c, e.table));
          lines.push({ label: e.label, table: e.table, database: db.name, expected: describe(e), actual, ok: within(e, actual) });
        }
        const hints = lines
          .filter((l) => !l.ok && l.expected === '0')
          .map((l) => `${l.label}: expected 0, found ${l.actual}. The seeds probably still create demo data (the runbook's note: sections 3-12 of db/seeds.rb); remove those sections for a blank handoff.`);
        for (const l of lines.filter((x) => !x.ok && x.expected !== '0')) hints.push(`${l.label}: expected ${l.expected}, found ${l.actual}. Check the seeds.`);
        const accounts = await withClient(t.primary, readAccounts);
        crashPoint('verify.done');
        return { ok: lines.every((l) => l.ok), lines, report: lines.map((l) => `${l.label}: ${l.actual}`).join('\n'), hints, accounts };
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

/** Rails apps name the login column differently; take the first that exists. */
async function readAccounts(c: Client): Promise<{ login: string; role: string }[]> {
  const cols = await c.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND table_schema = ANY(current_schemas(false))`,
  );
  const have = new Set(cols.rows.map((r) => r.column_name));
  const login = ['email_address', 'email', 'username', 'login'].find((x) => have.has(x));
  if (!login) return [];
  const role = have.has('role') ? escapeIdentifier('role') + '::text' : `''`;
  const r = await c.query<{ login: string; role: string }>(`SELECT ${escapeIdentifier(login)}::text AS login, ${role} AS role FROM users ORDER BY id LIMIT 100`);
  return r.rows;
}
