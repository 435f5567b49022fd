/**
 * The restore drill on the real stack: a reset with backup.verify "restore" proves its backup before
 * the approval (every table restored into a scratch database, counts equal to the source's at the
 * dump's snapshot); `reset-runbook drill` does it on demand and prints the table; a drill that cannot
 * make its scratch database, or whose pg_restore fails where `pg_restore --list` passed, fails
 * clearly; no scratch database is ever left behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { progressQuery } from '../../src/contract';
import { approveAndFinish, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { run } from '../cli/harness';
import { REPO_ROOT } from '../support/temporal';

let f: ResetFixture;
jest.setTimeout(300_000);
const roles: string[] = [];
afterEach(async () => {
  await f?.cleanup();
  for (const r of roles.splice(0)) await admin(`DROP ROLE IF EXISTS "${r}"`);
});

async function admin(sql: string, url = process.env.RR_PG_ADMIN_URL!): Promise<Record<string, unknown>[]> {
  const c = new PgClient({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

async function scratchDatabases(): Promise<string[]> {
  return (await admin(`SELECT datname FROM pg_database WHERE datname LIKE '%\\_rr\\_drill\\_%' ORDER BY 1`)).map(
    (r) => r.datname as string,
  );
}

/** Every ordinary table of the fixture's database, schema.table → rows (counted here, independently). */
async function counts(): Promise<Record<string, number>> {
  const tables = await f.sql<{ s: string; t: string }>(
    `SELECT schemaname AS s, tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
  );
  const out: Record<string, number> = {};
  for (const { s, t } of tables)
    out[`${s}.${t}`] = Number((await f.sql<{ n: string }>(`SELECT count(*) AS n FROM ONLY "${s}"."${t}"`))[0].n);
  return out;
}

function drill(target: string, env: NodeJS.ProcessEnv = {}) {
  return run(path.join(REPO_ROOT, 'bin', 'reset-runbook'), ['drill', target], {
    env: { RR_TASK_QUEUE: f.taskQueue, NO_COLOR: '1', ...env } as Record<string, string>,
    timeoutMs: 180_000,
  });
}

/** A login role that may read every table of the fixture's database and owns it, but is no superuser. */
async function limitedRole(createdb: boolean): Promise<string> {
  const role = `rr_drill_${f.id}`;
  roles.push(role);
  await admin(`CREATE ROLE "${role}" LOGIN ${createdb ? 'CREATEDB' : 'NOCREATEDB'}`);
  await admin(`GRANT pg_read_all_data TO "${role}"`);
  await admin(`ALTER DATABASE "${f.dbName}" OWNER TO "${role}"`);
  const u = new URL(f.dbUrl);
  u.username = role;
  return u.toString();
}

test('a reset with backup.verify "restore" proves its backup before the approval: every table restored, counts equal', async () => {
  // To the S3 destination: the drill restores the object it reads back from the bucket.
  const prefix = `rr-backups-${Math.random().toString(16).slice(2, 10)}/`;
  const destination = {
    kind: 's3' as const,
    bucket: process.env.RR_S3_BUCKET!,
    prefix,
    endpoint: process.env.RR_S3_ENDPOINT!,
    forcePathStyle: true,
    region: 'us-east-1',
  };
  f = await fixture({ target: { backup: { verify: 'restore', destination } } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  const waiting = await waitFor(h, (p) => p.phase === 'awaiting-approval');
  const drilled = waiting.backup?.drill;
  expect(drilled?.equal).toBe(true);
  expect(waiting.backup?.files[0].location?.kind).toBe('s3');
  const primary = drilled!.databases.find((d) => d.database === 'primary')!;
  // The source counted here, now: nothing was written since the backup (the workers run no jobs that
  // insert rows into application tables), so the drill's counts are these.
  const now = await counts();
  const appTables = Object.keys(now).filter((t) => t.startsWith('public.') && !t.startsWith('public.solid_queue'));
  expect(appTables.length).toBeGreaterThan(5);
  for (const t of appTables) expect([t, primary.tables.find((x) => x.table === t)?.restored]).toEqual([t, now[t]]);
  for (const t of primary.tables) expect([t.table, t.restored]).toEqual([t.table, t.source]);
  const detail = waiting.steps.find((s) => s.name === 'backup')?.detail ?? '';
  expect(detail).toContain(`restore drill: ${drilled!.tables} tables, ${drilled!.rows} rows, equal`);
  expect(drilled!.rows).toBeGreaterThan(now['public.customers']);
  expect(await scratchDatabases()).toEqual([]);

  const r = await approveAndFinish(h, f.dbName);
  expect(r.outcome).toBe('completed');
  expect(r.backup?.drill?.equal).toBe(true);
});

test('reset-runbook drill backs up now, restores into a scratch database and prints every table; a plain backup says it is not proven', async () => {
  f = await fixture();
  await f.startWorker();
  const now = await counts();
  const r = await drill(f.target);
  expect([r.code, r.stderr]).toEqual([0, expect.stringContaining(`restore drill of "${f.target}"`)]);
  const tables = Object.keys(now).length;
  const rows = Object.values(now).reduce((a, n) => a + n, 0);
  // The lock row the drill itself claimed is in its backup: one row more than counted before it.
  expect(r.stdout).toContain(
    `Restore drill of "${f.target}": restore drill: ${tables + 1} tables, ${rows + 1} rows, equal`,
  );
  const customers = now['public.customers'].toLocaleString('en-US');
  expect(now['public.customers']).toBeGreaterThan(0);
  expect(r.stdout).toMatch(new RegExp(`public\\.customers\\s+${customers}\\s+${customers}\\n`));
  expect(r.stdout).toMatch(/restored into "rr_e2e_[0-9a-f]+_rr_drill_[0-9a-f]{6}" \(dropped since\)/);
  expect(await scratchDatabases()).toEqual([]);

  // The same target without the drill: its reset's backup step says what it did not prove.
  expect(f.service('start')).toBe(0);
  const h = await f.start({ mode: 'execute' });
  const waiting = await waitFor(h, (p) => p.phase === 'awaiting-approval');
  expect(waiting.steps.find((s) => s.name === 'backup')?.detail).toContain(
    'checked with pg_restore --list only: not proven restorable',
  );
  await h.query(progressQuery);
});

test('a database user without CREATEDB: the drill fails clearly, names what to do, and leaves no scratch database', async () => {
  f = await fixture();
  const url = await limitedRole(false);
  await f.startWorker({ E2E_DATABASE_URL: url });
  const r = await drill(f.target);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    `Restore drill of "${f.target}" failed: Restore drill of target "${f.target}", database "primary"`,
  );
  expect(r.stderr).toMatch(
    /cannot create the scratch database "rr_e2e_[0-9a-f]+_rr_drill_[0-9a-f]{6}" on the same server: permission denied to create database \(the database user lacks CREATEDB/,
  );
  expect(r.stderr).toContain('set backup.verify to "list"');
  expect(r.stderr).not.toContain(f.secret);
  expect(await scratchDatabases()).toEqual([]);
});

test('a backup that pg_restore --list accepts but that does not restore (an extension only a superuser may create) fails the drill', async () => {
  f = await fixture();
  await admin('CREATE EXTENSION IF NOT EXISTS dblink', f.dbUrl);
  const url = await limitedRole(true);
  await f.startWorker({ E2E_DATABASE_URL: url });
  const r = await drill(f.target);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`Restore drill of target "${f.target}", database "primary"`);
  expect(r.stderr).toMatch(
    /pg_restore into the scratch database failed \(exit 1\): .*permission denied to create extension "dblink"/s,
  );
  expect(r.stderr).toContain('The backup is not proven restorable; the scratch database was dropped.');
  expect(await scratchDatabases()).toEqual([]);
});

test('a dump that lacks a table’s rows passes pg_restore --list but not the drill: the table is named, source and restored', async () => {
  // A pg_dump wrapper that leaves out one table's data (as --exclude-table-data in a site's wrapper would); payments is
  // referenced by no foreign key, so nothing but the counts notices.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-drill-dump-'));
  const pgDump = path.join(dir, 'pg_dump');
  fs.writeFileSync(
    pgDump,
    `#!/bin/sh\nexec '${process.env.RR_PG_BIN}/pg_dump' "$@" --exclude-table-data=public.payments\n`,
    { mode: 0o755 },
  );
  f = await fixture({ target: { backup: { pgDump } } });
  const payments = Number((await f.sql<{ n: string }>('SELECT count(*) AS n FROM payments'))[0].n);
  expect(payments).toBeGreaterThan(0);
  await f.startWorker();
  const r = await drill(f.target);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    new RegExp(
      `: 1 of \\d+ tables differ from the source after pg_restore into "rr_e2e_[0-9a-f]+_rr_drill_[0-9a-f]{6}": public\\.payments source ${payments} rows, restored 0 rows\\.`,
    ),
  );
  expect(r.stderr).toContain('The backup is not proven restorable; the scratch database was dropped.');
  expect(r.stderr).toContain("This backup's files were removed: a retry of the step takes a new one.");
  expect(await scratchDatabases()).toEqual([]);
  // No unproven backup is left to pass for a good one.
  expect(fs.readdirSync(f.backupDir).filter((n) => n.endsWith('.dump'))).toEqual([]);
  fs.rmSync(dir, { recursive: true, force: true });
});
