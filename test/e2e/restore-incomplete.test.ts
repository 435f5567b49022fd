/**
 * The restore's transaction checks the load before its COMMIT, on the real PostgreSQL with a real
 * pg_dump backup: a partition whose entry the selection missed, or a table holding other rows than
 * pg_restore streamed, rolls everything back (nothing changed). A complete load leaves Solid Queue's
 * process rows as the live workers have them and puts the backup's claimed jobs back as ready.
 * Calls the activities in an activity context: no workflow is needed to prove what a transaction commits.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client as PgClient } from 'pg';
import { createBackupActivities } from '../../src/activities/backup';
import { restoreDatabase, type RestoreDatabaseResult } from '../../src/activities/restore/database';
import { verifiedLocalCopy } from '../../src/activities/lib/backup-source';
import { restoreInOneTransaction, type LoadSeams } from '../../src/activities/restore/load';
import { withClient } from '../../src/activities/lib/postgres';
import { decideTables } from '../../src/activities/lib/tables';
import { resolveTarget } from '../../src/activities/lib/target';
import { loadTargetsFile } from '../../src/config/load';
import type { BackupRecord } from '../../src/contract';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
jest.setTimeout(300_000);
afterEach(async () => {
  await f?.cleanup();
});

const deps = () => ({ targets: loadTargetsFile(f.targetsFile, f.workerEnv), env: f.workerEnv });

/** Every table's count and rows (md5), Solid Queue's included: what "nothing changed" must keep. */
async function state(): Promise<Record<string, string>> {
  const rels = await f.sql<{ name: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { name } of rels)
    out[name] = (
      await f.sql<{ v: string }>(
        `SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') AS v FROM ONLY ${name} t`,
      )
    )[0].v;
  return out;
}

async function load(backup: BackupRecord, seams: LoadSeams) {
  const t = resolveTarget(deps(), f.target);
  const d = await withClient(t.primary, (c) => decideTables(c, t.primary));
  const archive = await verifiedLocalCopy(t, backup.files[0]);
  try {
    return await new MockActivityEnvironment().run(() =>
      restoreInOneTransaction(t, t.primary, archive, d, () => undefined, seams),
    );
  } finally {
    archive.release();
  }
}

test('a short load is rolled back before COMMIT, naming the table; a complete one keeps the live workers’ rows and requeues the claims', async () => {
  f = await fixture();
  await f.sql(`
    CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    INSERT INTO events (at) SELECT date '2025-01-01' + i * 3 FROM generate_series(1, 200) i;
    -- What a worker registered and was doing when the backup was taken.
    INSERT INTO solid_queue_processes (kind, last_heartbeat_at, pid, hostname, created_at, name)
      VALUES ('Worker', now() - interval '1 hour', 4242, 'old-host', now() - interval '1 hour', 'worker-at-backup');
    WITH j AS (INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, created_at, updated_at)
               VALUES ('default', 'InvoiceMailerJob', '{}', now(), now()) RETURNING id)
    INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
      SELECT id, (SELECT id FROM solid_queue_processes WHERE name = 'worker-at-backup'), now() FROM j;
  `);
  const [{ job }] = await f.sql<{ job: string }>(
    `SELECT job_id::text AS job FROM solid_queue_claimed_executions ORDER BY id DESC LIMIT 1`,
  );
  // The demo's own claims too: every unfinished claimed job goes back to ready.
  const claimed = await f.count(
    `solid_queue_claimed_executions c JOIN solid_queue_jobs j ON j.id = c.job_id AND j.finished_at IS NULL`,
  );
  expect(claimed).toBeGreaterThan(0);
  const before = await state();
  const backup = (await new MockActivityEnvironment().run(createBackupActivities(deps()).backupDatabase, {
    target: f.target,
  })) as BackupRecord;

  // What the database holds when the restore runs: the reset emptied it, and the live workers registered.
  await f.sql(`TRUNCATE events, customers, solid_queue_jobs, solid_queue_processes CASCADE`);
  await f.sql(
    `INSERT INTO solid_queue_processes (kind, last_heartbeat_at, pid, hostname, created_at, name) VALUES ('Worker', now(), 777, 'live-host', now(), 'worker-live')`,
  );
  const now = await state();
  expect(now['public.events_2026']).toBe('0:');

  // A selection that misses a partition's entry: nothing is committed.
  const missed = load(backup, {
    entries: (lines) => lines.filter((l) => !l.includes(' TABLE DATA public events_2026 ')),
  });
  await expect(missed).rejects.toThrow(
    /load was incomplete \(no rows of public\.events_2026 \(partition of public\.events\) were loaded\)\. Rolled back before COMMIT; nothing was changed/,
  );
  expect(await state()).toEqual(now);

  // pg_restore streamed other rows than the table holds: the transaction's own check refuses its COMMIT.
  const miscounted = load(backup, {
    streamed: (rows) => rows.set('public.customers', rows.get('public.customers')! + 1),
  });
  await expect(miscounted).rejects.toThrow(
    /load was incomplete \(public\.customers holds \d+ rows, the backup streamed \d+\)\. Rolled back before COMMIT; nothing was changed/,
  );
  expect(await state()).toEqual(now);

  // psql stops at an error (a table locked past lock_timeout): pg_restore is stopped too, never left
  // writing into a pipe no one reads, and the step fails with psql's error.
  const holder = new PgClient({ connectionString: f.dbUrl });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE customers IN ACCESS EXCLUSIVE MODE');
    await expect(load(backup, {})).rejects.toThrow(
      /failed \(psql exit 3\): .*lock timeout.*Rolled back; nothing was changed/s,
    );
  } finally {
    await holder.end();
  }
  expect(await state()).toEqual(now);

  // The real thing, as the restore step runs it.
  const r = (await new MockActivityEnvironment().run(() =>
    restoreDatabase(deps(), { target: f.target, backup }),
  )) as RestoreDatabaseResult;
  expect(r.mismatches).toEqual([]);
  expect(r.requeued).toBe(claimed);
  expect(r.counts[`primary/public.events`]).toBe(200);
  const after = await state();
  for (const [k, v] of Object.entries(before)) {
    if (
      [
        'public.solid_queue_processes',
        'public.solid_queue_claimed_executions',
        'public.solid_queue_ready_executions',
      ].includes(k)
    )
      continue;
    expect([k, after[k]]).toEqual([k, v]);
  }
  // The live worker's row stays, the one of the worker stopped before the reset does not come back.
  expect(after['public.solid_queue_processes']).toBe(now['public.solid_queue_processes']);
  expect(await f.sql(`SELECT name FROM solid_queue_processes`)).toEqual([{ name: 'worker-live' }]);
  expect(await f.count('solid_queue_claimed_executions')).toBe(0);
  expect(await f.sql(`SELECT job_id::text AS job FROM solid_queue_ready_executions WHERE job_id = $1`, [job])).toEqual([
    { job },
  ]);
  expect(await f.count('solid_queue_ready_executions')).toBe(
    Number(before['public.solid_queue_ready_executions'].split(':')[0]) + claimed,
  );
});
